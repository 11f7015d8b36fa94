/**
 * Writer for the Kafka wire format.
 *
 * Small values go into a growable scratch buffer. A large Buffer handed to bytes()/raw()
 * (≥ ZERO_COPY_THRESHOLD) is not copied: the scratch written so far is closed as a chunk,
 * the big buffer becomes its own chunk, and writing resumes in the scratch. chunks() then
 * yields the message as a list for socket.writev — a Fetch response's record data (a file
 * read) is never copied again.
 *
 * Positions (length, reserveInt32/setInt32) are absolute byte offsets in the whole output.
 */
import { assert } from '../../lib/assert.ts'
import { writeUuidBytes } from './uuid.ts'

export const ZERO_COPY_THRESHOLD = 4096

const TWO_32 = 2 ** 32
const INITIAL_SCRATCH = 512

interface Chunk {
  buf: Buffer
  /** Absolute offset of buf[0] in the output. */
  start: number
}

export class Writer {
  /** Closed chunks, in order. */
  private done: Chunk[] = []
  private scratch: Buffer
  /** Index in scratch where the open (not yet closed) region begins. */
  private openFrom = 0
  /** Write position in scratch. */
  private pos = 0
  /** Absolute offset of scratch[openFrom]. */
  private openStart = 0

  constructor(initialSize = INITIAL_SCRATCH) {
    this.scratch = Buffer.allocUnsafe(Math.max(16, initialSize))
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.openStart + (this.pos - this.openFrom)
  }

  /** Makes room for n more bytes in the scratch and returns the write position. */
  // Callers must call room() before reading this.scratch: it may replace the buffer.
  private room(n: number): number {
    const pos = this.pos
    if (pos + n <= this.scratch.length) {
      this.pos = pos + n
      return pos
    }
    // Grow: move only the open region; closed chunks keep referencing the old scratch.
    const open = pos - this.openFrom
    const next = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, open + n + INITIAL_SCRATCH))
    this.scratch.copy(next, 0, this.openFrom, pos)
    this.scratch = next
    this.openFrom = 0
    this.pos = open + n
    return open
  }

  int8(n: number): void {
    const at = this.room(1)
    this.scratch.writeInt8(n, at)
  }

  int16(n: number): void {
    const at = this.room(2)
    this.scratch.writeInt16BE(n, at)
  }

  uint16(n: number): void {
    const at = this.room(2)
    this.scratch.writeUInt16BE(n, at)
  }

  int32(n: number): void {
    const at = this.room(4)
    this.scratch.writeInt32BE(n, at)
  }

  uint32(n: number): void {
    const at = this.room(4)
    this.scratch.writeUInt32BE(n, at)
  }

  /** int64 from a JS number; exact for safe integers. */
  int64(n: number): void {
    const at = this.room(8)
    const hi = Math.floor(n / TWO_32)
    this.scratch.writeInt32BE(hi, at)
    this.scratch.writeUInt32BE(n - hi * TWO_32, at + 4)
  }

  float64(n: number): void {
    const at = this.room(8)
    this.scratch.writeDoubleBE(n, at)
  }

  bool(b: boolean): void {
    const at = this.room(1)
    this.scratch[at] = b ? 1 : 0
  }

  uuid(s: string): void {
    const at = this.room(16)
    writeUuidBytes(s, this.scratch, at)
  }

  /** Unsigned 32-bit varint. */
  uvarint(n: number): void {
    assert(n >= 0 && n <= 0xffffffff && Number.isInteger(n), `uvarint out of range: ${n}`)
    while (n >= 0x80) {
      const at = this.room(1)
      this.scratch[at] = (n & 0x7f) | 0x80
      n = n >>> 7
    }
    const at = this.room(1)
    this.scratch[at] = n
  }

  /** Zigzag signed 32-bit varint. */
  varint(n: number): void {
    this.uvarint(((n << 1) ^ (n >> 31)) >>> 0)
  }

  /** Unsigned varlong from a non-negative JS number. */
  uvarlong(n: number): void {
    assert(n >= 0 && Number.isInteger(n), `uvarlong out of range: ${n}`)
    while (n >= 0x80) {
      const at = this.room(1)
      this.scratch[at] = (n % 128) | 0x80
      n = Math.floor(n / 128)
    }
    const at = this.room(1)
    this.scratch[at] = n
  }

  /** Zigzag signed varlong. */
  varlong(n: number): void {
    this.uvarlong(n >= 0 ? n * 2 : -n * 2 - 1)
  }

  // --- strings -------------------------------------------------------------------------

  private utf8(s: string, len: number): void {
    const at = this.room(len)
    this.scratch.write(s, at, len, 'utf8')
  }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8')
    assert(len <= 0x7fff, 'string longer than 32767 bytes')
    this.int16(len)
    this.utf8(s, len)
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1)
    else this.string(s)
  }

  compactString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8')
    this.uvarint(len + 1)
    this.utf8(s, len)
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.uvarint(0)
    else this.compactString(s)
  }

  // --- bytes ---------------------------------------------------------------------------

  /** Appends buf as is: copied when small, kept by reference (zero copy) when large. */
  raw(buf: Buffer): void {
    if (buf.length >= ZERO_COPY_THRESHOLD) {
      this.close()
      this.done.push({ buf, start: this.openStart })
      this.openStart += buf.length
      return
    }
    const at = this.room(buf.length)
    buf.copy(this.scratch, at)
  }

  bytes(b: Buffer): void {
    this.int32(b.length)
    this.raw(b)
  }

  nullableBytes(b: Buffer | null): void {
    if (b === null) this.int32(-1)
    else this.bytes(b)
  }

  compactBytes(b: Buffer): void {
    this.uvarint(b.length + 1)
    this.raw(b)
  }

  compactNullableBytes(b: Buffer | null): void {
    if (b === null) this.uvarint(0)
    else this.compactBytes(b)
  }

  /** Appends everything another writer produced (its big chunks stay by reference). */
  writer(other: Writer): void {
    for (const c of other.chunks()) this.raw(c)
  }

  // --- arrays ------------------------------------------------------------------------

  arrayLength(compact: boolean, n: number): void {
    if (compact) this.uvarint(n + 1)
    else this.int32(n)
  }

  array<T>(compact: boolean, items: readonly T[], writeItem: (w: Writer, version: number, item: T) => void, version = 0): void {
    this.arrayLength(compact, items.length)
    for (const item of items) writeItem(this, version, item)
  }

  nullableArray<T>(
    compact: boolean,
    items: readonly T[] | null,
    writeItem: (w: Writer, version: number, item: T) => void,
    version = 0,
  ): void {
    if (items === null) this.arrayLength(compact, -1)
    else this.array(compact, items, writeItem, version)
  }

  /** One KIP-482 tagged field: uvarint tag, uvarint size, then the value written by `body`. */
  taggedField(tag: number, body: (w: Writer) => void): void {
    const inner = new Writer(64)
    body(inner)
    this.uvarint(tag)
    this.uvarint(inner.length)
    this.writer(inner)
  }

  // --- size prefixes ---------------------------------------------------------------------

  /** Reserves 4 bytes (e.g. a frame size) to fill in later with setInt32; returns their position. */
  reserveInt32(): number {
    const at = this.length
    this.room(4)
    return at
  }

  setInt32(position: number, value: number): void {
    this.locate(position, 4).writeInt32BE(value, this.located)
  }

  private located = 0

  /** Finds the buffer holding [position, position+n) (always inside one scratch region). */
  private locate(position: number, n: number): Buffer {
    if (position >= this.openStart) {
      this.located = this.openFrom + (position - this.openStart)
      assert(this.located + n <= this.pos, 'position beyond the written bytes')
      return this.scratch
    }
    for (let i = this.done.length - 1; i >= 0; i--) {
      const c = this.done[i]!
      if (position >= c.start) {
        this.located = position - c.start
        assert(this.located + n <= c.buf.length, 'position spans two chunks')
        return c.buf
      }
    }
    throw new RangeError(`position ${position} not written`)
  }

  /** Closes the open scratch region as a chunk. */
  private close(): void {
    if (this.pos > this.openFrom) {
      this.done.push({ buf: this.scratch.subarray(this.openFrom, this.pos), start: this.openStart })
      this.openStart += this.pos - this.openFrom
      this.openFrom = this.pos
    }
  }

  /** The output as a list of buffers (for socket.writev / cork). Writing may continue afterwards. */
  chunks(): Buffer[] {
    this.close()
    return this.done.map((c) => c.buf)
  }

  /** The output as one buffer (copies; for tests and small messages). */
  toBuffer(): Buffer {
    const list = this.chunks()
    return list.length === 1 ? list[0]! : Buffer.concat(list, this.length)
  }
}

/** Unwraps a nullable field for a version in which the schema does not allow null. */
export function required<T>(value: T | null, field: string): T {
  assert(value !== null, `${field} is null in a version where it is not nullable`)
  return value
}

// Element writers for arrays of primitives, shared by the generated codecs.
export const writeInt8 = (w: Writer, _v: number, n: number): void => w.int8(n)
export const writeInt16 = (w: Writer, _v: number, n: number): void => w.int16(n)
export const writeUint16 = (w: Writer, _v: number, n: number): void => w.uint16(n)
export const writeInt32 = (w: Writer, _v: number, n: number): void => w.int32(n)
export const writeInt64 = (w: Writer, _v: number, n: number): void => w.int64(n)
export const writeFloat64 = (w: Writer, _v: number, n: number): void => w.float64(n)
export const writeBool = (w: Writer, _v: number, b: boolean): void => w.bool(b)
export const writeUuid = (w: Writer, _v: number, s: string): void => w.uuid(s)
export const writeString = (w: Writer, _v: number, s: string): void => w.string(s)
export const writeCompactString = (w: Writer, _v: number, s: string): void => w.compactString(s)
export const writeBytes = (w: Writer, _v: number, b: Buffer): void => w.bytes(b)
export const writeCompactBytes = (w: Writer, _v: number, b: Buffer): void => w.compactBytes(b)
