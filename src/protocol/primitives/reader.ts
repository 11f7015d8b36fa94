/**
 * Bounds-checked reader for the Kafka wire format (big-endian ints, KIP-482 varints,
 * compact and classic strings/bytes/arrays, tagged-field buffers).
 *
 * Every read checks the remaining length first, so truncated or hostile input surfaces
 * as a DecodeError and never as a RangeError, a giant allocation or an endless loop.
 * Byte fields are returned as subarray views of the input (no copy): a decoded Produce
 * request keeps its record batches as views into the socket buffer.
 */
import { uuidFromBytes } from './uuid.ts'

/** Malformed or truncated input. The caller answers with an error or closes the connection. */
export class DecodeError extends Error {
  override name = 'DecodeError'
}

const TWO_32 = 2 ** 32

export class Reader {
  buf: Buffer
  offset: number
  end: number

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) throw new DecodeError(`bad reader bounds ${offset}..${end}`)
    this.buf = buf
    this.offset = offset
    this.end = end
  }

  remaining(): number {
    return this.end - this.offset
  }

  /** Reserves n bytes and returns their start offset, or throws if the input is too short. */
  private take(n: number): number {
    const at = this.offset
    if (n > this.end - at) throw new DecodeError(`truncated input: need ${n} bytes at offset ${at}, have ${this.end - at}`)
    this.offset = at + n
    return at
  }

  skip(n: number): void {
    this.take(n)
  }

  int8(): number {
    return this.buf.readInt8(this.take(1))
  }

  int16(): number {
    return this.buf.readInt16BE(this.take(2))
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.take(2))
  }

  int32(): number {
    return this.buf.readInt32BE(this.take(4))
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.take(4))
  }

  /** int64 as a JS number: exact within ±(2^53 − 1), the nearest double beyond. */
  int64(): number {
    const at = this.take(8)
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4)
  }

  float64(): number {
    return this.buf.readDoubleBE(this.take(8))
  }

  bool(): boolean {
    return this.buf[this.take(1)] !== 0
  }

  uuid(): string {
    const at = this.take(16)
    return uuidFromBytes(this.buf, at)
  }

  /** Unsigned varint of at most 5 bytes (32 bits), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    // Fast path: lengths and tag counts are almost always a single byte.
    const at = this.offset
    if (at < this.end) {
      const b = this.buf[at]!
      if (b < 0x80) {
        this.offset = at + 1
        return b
      }
    }
    return this.uvarintSlow()
  }

  private uvarintSlow(): number {
    const buf = this.buf
    let value = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) throw new DecodeError('truncated varint')
      const b = buf[this.offset++]!
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value > 0xffffffff ? value % TWO_32 : value
      shift += 7
    }
    throw new DecodeError('varint is longer than 5 bytes')
  }

  /** Zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const u = this.uvarint()
    return (u >>> 1) ^ -(u & 1)
  }

  /** Unsigned varlong of at most 10 bytes, as a JS number (exact up to 2^53 − 1). */
  uvarlong(): number {
    const buf = this.buf
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new DecodeError('truncated varlong')
      const b = buf[this.offset++]!
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return value
      scale *= 128
    }
    throw new DecodeError('varlong is longer than 10 bytes')
  }

  /** Zigzag-encoded signed varlong. */
  varlong(): number {
    const u = this.uvarlong()
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2
  }

  // --- strings -------------------------------------------------------------------------

  private utf8(len: number): string {
    const at = this.take(len)
    return this.buf.toString('utf8', at, at + len)
  }

  string(): string {
    const len = this.int16()
    if (len < 0) throw new DecodeError(`invalid string length ${len}`)
    return this.utf8(len)
  }

  nullableString(): string | null {
    const len = this.int16()
    if (len === -1) return null
    if (len < 0) throw new DecodeError(`invalid string length ${len}`)
    return this.utf8(len)
  }

  compactString(): string {
    const n = this.uvarint()
    if (n === 0) throw new DecodeError('null compact string where a value is required')
    return this.utf8(n - 1)
  }

  compactNullableString(): string | null {
    const n = this.uvarint()
    return n === 0 ? null : this.utf8(n - 1)
  }

  // --- bytes (views, no copy) ---------------------------------------------------------

  private view(len: number): Buffer {
    const at = this.take(len)
    return this.buf.subarray(at, at + len)
  }

  bytes(): Buffer {
    const len = this.int32()
    if (len < 0) throw new DecodeError(`invalid bytes length ${len}`)
    return this.view(len)
  }

  nullableBytes(): Buffer | null {
    const len = this.int32()
    if (len === -1) return null
    if (len < 0) throw new DecodeError(`invalid bytes length ${len}`)
    return this.view(len)
  }

  compactBytes(): Buffer {
    const n = this.uvarint()
    if (n === 0) throw new DecodeError('null compact bytes where a value is required')
    return this.view(n - 1)
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint()
    return n === 0 ? null : this.view(n - 1)
  }

  // --- arrays --------------------------------------------------------------------------

  /**
   * Element count of an array: int32 (classic) or uvarint(n + 1) (compact); −1 means null.
   * A count larger than the remaining bytes is rejected up front (every element takes at
   * least one byte), so a hostile length cannot make us allocate or loop for nothing.
   */
  arrayLength(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.int32()
    if (n < -1) throw new DecodeError(`invalid array length ${n}`)
    if (n > this.end - this.offset) throw new DecodeError(`array length ${n} exceeds the remaining ${this.end - this.offset} bytes`)
    return n
  }

  array<T>(compact: boolean, readItem: (r: Reader, version: number) => T, version = 0): T[] {
    const n = this.arrayLength(compact)
    if (n < 0) throw new DecodeError('null array where a value is required')
    return this.items(n, readItem, version)
  }

  nullableArray<T>(compact: boolean, readItem: (r: Reader, version: number) => T, version = 0): T[] | null {
    const n = this.arrayLength(compact)
    return n < 0 ? null : this.items(n, readItem, version)
  }

  private items<T>(n: number, readItem: (r: Reader, version: number) => T, version: number): T[] {
    const out: T[] = []
    for (let i = 0; i < n; i++) out.push(readItem(this, version))
    return out
  }

  // --- tagged fields (KIP-482) -----------------------------------------------------------

  /** Reads a tagged field's size and returns the offset where its value ends. */
  tagEnd(): number {
    const size = this.uvarint()
    if (size > this.end - this.offset) throw new DecodeError(`tagged field of ${size} bytes exceeds the input`)
    return this.offset + size
  }

  /** After decoding a known tagged field: the value must not overrun its declared size; slack is skipped. */
  finishTag(end: number): void {
    if (this.offset > end) throw new DecodeError('tagged field overran its declared size')
    this.offset = end
  }

  skipTaggedFields(): void {
    const count = this.uvarint()
    if (count === 0) return
    for (let i = 0; i < count; i++) {
      this.uvarint()
      this.offset = this.tagEnd()
    }
  }
}

// Element readers for arrays of primitives, shared by the generated codecs.
export const readInt8 = (r: Reader): number => r.int8()
export const readInt16 = (r: Reader): number => r.int16()
export const readUint16 = (r: Reader): number => r.uint16()
export const readInt32 = (r: Reader): number => r.int32()
export const readInt64 = (r: Reader): number => r.int64()
export const readFloat64 = (r: Reader): number => r.float64()
export const readBool = (r: Reader): boolean => r.bool()
export const readUuid = (r: Reader): string => r.uuid()
export const readString = (r: Reader): string => r.string()
export const readCompactString = (r: Reader): string => r.compactString()
export const readBytes = (r: Reader): Buffer => r.bytes()
export const readCompactBytes = (r: Reader): Buffer => r.compactBytes()
