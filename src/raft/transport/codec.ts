/**
 * A compact binary encoding of Raft messages (one message per frame).
 *
 *   u8 type | varuint from | varuint to | varuint term | fields of the type (below)
 *
 * varuint is LEB128 (7 bits per byte, little end first) for integers 0 ≤ n ≤ 2^53 - 1; flags are
 * one byte; `bytes` is varuint length + raw bytes; `str` is bytes of UTF-8 and `str?` is a varuint
 * 0 for null or length + 1 followed by the UTF-8. Fields per type:
 *
 *   1 append         prevIndex, prevTerm, commit, count, count × (term, u8 kind, bytes data)
 *                    (entry indexes are implicit: prevIndex + 1, + 2, …; kind 0 data, 1 noop,
 *                    2 config — the byte was a 0/1 flag before membership changes, so older
 *                    frames decode unchanged; an unknown kind is rejected, never read as data)
 *   2 appendResp     u8 reject, index, hintIndex, hintTerm
 *   3 vote           lastIndex, lastTerm, u8 transfer          4 preVote   (same)
 *   5 voteResp       u8 reject                                 6 preVoteResp (same)
 *   7 heartbeat      commit, str? context                      8 heartbeatResp  str? context
 *   9 snapshot       index, term, count, count × voter, bytes data [, count, count × learner]
 *                    (the learner list is written only when there are learners, so frames without
 *                    them are those of builds before learners existed)
 *  10 timeoutNow     —
 *  11 readIndex      str context                              12 readIndexResp  index, str context
 *
 * Decoded entry and snapshot data are views into the frame's buffer (no copy): a transport must
 * hand `decode` a buffer it will not reuse.
 */
import { assert } from '../../lib/assert.ts'
import type { Entry, EntryKind, Message, MessageType } from '../types.ts'

const TYPES: readonly MessageType[] = [
  'append', 'appendResp', 'vote', 'preVote', 'voteResp', 'preVoteResp', 'heartbeat', 'heartbeatResp', 'snapshot',
  'timeoutNow', 'readIndex', 'readIndexResp',
]
const CODE = new Map<MessageType, number>(TYPES.map((t, i) => [t, i + 1]))
const KINDS: readonly EntryKind[] = ['data', 'noop', 'config']
const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

class Writer {
  buf: Uint8Array
  pos = 0
  constructor(size: number) {
    this.buf = new Uint8Array(size)
  }
  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }
  uint(n: number): void {
    assert(Number.isSafeInteger(n) && n >= 0, `codec: ${n} is not a non-negative safe integer`)
    this.#room(8)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.pos++] = n
  }
  flag(b: boolean): void {
    this.u8(b ? 1 : 0)
  }
  u8(n: number): void {
    this.#room(1)
    this.buf[this.pos++] = n
  }
  bytes(b: Uint8Array): void {
    this.uint(b.byteLength)
    this.#room(b.byteLength)
    this.buf.set(b, this.pos)
    this.pos += b.byteLength
  }
  str(s: string | null): void {
    if (s === null) return this.uint(0)
    const b = utf8.encode(s)
    this.uint(b.byteLength + 1)
    this.#room(b.byteLength)
    this.buf.set(b, this.pos)
    this.pos += b.byteLength
  }
}

class Reader {
  readonly buf: Uint8Array
  pos = 0
  constructor(buf: Uint8Array) {
    this.buf = buf
  }
  uint(): number {
    let n = 0
    let scale = 1
    for (;;) {
      assert(this.pos < this.buf.length, 'codec: truncated varuint')
      const b = this.buf[this.pos++]!
      n += (b & 0x7f) * scale
      if (b < 0x80) break
      scale *= 0x80
      assert(scale <= 2 ** 56, 'codec: varuint too long')
    }
    return n
  }
  flag(): boolean {
    return this.u8() === 1
  }
  u8(): number {
    assert(this.pos < this.buf.length, 'codec: truncated byte')
    return this.buf[this.pos++]!
  }
  bytes(): Uint8Array {
    const n = this.uint()
    assert(this.pos + n <= this.buf.length, 'codec: truncated bytes')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  str(): string {
    const s = this.optStr()
    assert(s !== null, 'codec: missing string')
    return s
  }
  optStr(): string | null {
    const n = this.uint()
    if (n === 0) return null
    assert(this.pos + n - 1 <= this.buf.length, 'codec: truncated string')
    const s = fromUtf8.decode(this.buf.subarray(this.pos, this.pos + n - 1))
    this.pos += n - 1
    return s
  }
}

export function encodeMessage(m: Message): Uint8Array {
  let size = 32
  if (m.type === 'append') for (const e of m.entries) size += e.data.byteLength + 12
  if (m.type === 'snapshot') size += m.snapshot.data.byteLength + 8 * (m.snapshot.meta.voters.length + (m.snapshot.meta.learners?.length ?? 0)) + 32
  const w = new Writer(size)
  w.uint(CODE.get(m.type)!)
  w.uint(m.from)
  w.uint(m.to)
  w.uint(m.term)
  switch (m.type) {
    case 'append':
      w.uint(m.prevIndex); w.uint(m.prevTerm); w.uint(m.commit); w.uint(m.entries.length)
      m.entries.forEach((e, k) => {
        assert(e.index === m.prevIndex + 1 + k, 'codec: append entries must be contiguous after prevIndex')
        w.uint(e.term); w.u8(KINDS.indexOf(e.kind)); w.bytes(e.data)
      })
      break
    case 'appendResp': w.flag(m.reject); w.uint(m.index); w.uint(m.hintIndex); w.uint(m.hintTerm); break
    case 'vote': case 'preVote': w.uint(m.lastIndex); w.uint(m.lastTerm); w.flag(m.transfer); break
    case 'voteResp': case 'preVoteResp': w.flag(m.reject); break
    case 'heartbeat': w.uint(m.commit); w.str(m.context); break
    case 'heartbeatResp': w.str(m.context); break
    case 'snapshot': {
      const meta = m.snapshot.meta
      w.uint(meta.index); w.uint(meta.term); w.uint(meta.voters.length)
      for (const v of meta.voters) w.uint(v)
      w.bytes(m.snapshot.data)
      const learners = meta.learners ?? []
      if (learners.length > 0) {
        w.uint(learners.length)
        for (const v of learners) w.uint(v)
      }
      break
    }
    case 'timeoutNow': break
    case 'readIndex': w.str(m.context); break
    case 'readIndexResp': w.uint(m.index); w.str(m.context); break
  }
  return w.buf.subarray(0, w.pos)
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf)
  const type = TYPES[r.uint() - 1]
  assert(type !== undefined, 'codec: unknown message type')
  const h = { from: r.uint(), to: r.uint(), term: r.uint() }
  const m = decodeBody(type, h, r)
  assert(r.pos === buf.length, `codec: ${buf.length - r.pos} trailing bytes after a ${type} message`)
  return m
}

function decodeBody(type: MessageType, h: { from: number; to: number; term: number }, r: Reader): Message {
  switch (type) {
    case 'append': {
      const prevIndex = r.uint()
      const prevTerm = r.uint()
      const commit = r.uint()
      const count = r.uint()
      const entries: Entry[] = []
      for (let k = 0; k < count; k++) {
        const term = r.uint()
        const kind = KINDS[r.u8()]
        assert(kind !== undefined, 'codec: unknown entry kind')
        entries.push({ index: prevIndex + 1 + k, term, kind, data: r.bytes() })
      }
      return { type, ...h, prevIndex, prevTerm, commit, entries }
    }
    case 'appendResp': return { type, ...h, reject: r.flag(), index: r.uint(), hintIndex: r.uint(), hintTerm: r.uint() }
    case 'vote': case 'preVote': return { type, ...h, lastIndex: r.uint(), lastTerm: r.uint(), transfer: r.flag() }
    case 'voteResp': case 'preVoteResp': return { type, ...h, reject: r.flag() }
    case 'heartbeat': return { type, ...h, commit: r.uint(), context: r.optStr() }
    case 'heartbeatResp': return { type, ...h, context: r.optStr() }
    case 'snapshot': {
      const index = r.uint()
      const term = r.uint()
      const voters: number[] = []
      for (let n = r.uint(); n > 0; n--) voters.push(r.uint())
      const data = r.bytes()
      const learners: number[] = []
      if (r.pos < r.buf.length) for (let n = r.uint(); n > 0; n--) learners.push(r.uint())
      return { type, ...h, snapshot: { meta: { index, term, voters, ...(learners.length > 0 ? { learners } : {}) }, data } }
    }
    case 'timeoutNow': return { type, ...h }
    case 'readIndex': return { type, ...h, context: r.str() }
    case 'readIndexResp': return { type, ...h, index: r.uint(), context: r.str() }
  }
}
