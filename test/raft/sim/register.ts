/**
 * The simulator's state machine: a single register. Each write carries a
 * unique operation id, so a read tells exactly which write it observed (by
 * the log index of that write), which is what the linearizability check needs.
 */
import type { Entry, LogIndex } from '../../../src/raft/types.ts'

export function encodeOp(opId: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, opId)
  return b
}

export function decodeOp(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0)
}

export interface RegisterImage {
  /** Op id of the last write applied (0 = initial value). */
  readonly value: number
  /** Log index of that write (0 = initial value). */
  readonly valueIndex: LogIndex
}

export class Register {
  value = 0
  valueIndex: LogIndex = 0
  applied: LogIndex = 0

  apply(e: Entry): void {
    this.applied = e.index
    if (e.kind !== 'data') return
    this.value = decodeOp(e.data)
    this.valueIndex = e.index
  }

  snapshot(): Uint8Array {
    const b = new Uint8Array(8)
    const v = new DataView(b.buffer)
    v.setUint32(0, this.value)
    v.setUint32(4, this.valueIndex)
    return b
  }

  restore(data: Uint8Array, index: LogIndex): void {
    if (data.byteLength === 0) {
      this.value = 0
      this.valueIndex = 0
    } else {
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
      this.value = v.getUint32(0)
      this.valueIndex = v.getUint32(4)
    }
    this.applied = index
  }
}
