import t from 'tap'
import { DecodeError, Reader } from '../../../src/protocol/primitives/reader.ts'
import { Writer, ZERO_COPY_THRESHOLD } from '../../../src/protocol/primitives/writer.ts'
import {
  InvalidUuidError,
  METADATA_TOPIC_UUID,
  ZERO_UUID,
  isValidUuid,
  randomUuid,
  uuidFromBytes,
  uuidToBytes,
  uuidToHex,
} from '../../../src/protocol/primitives/uuid.ts'

function bytes(...xs: number[]): Buffer {
  return Buffer.from(xs)
}

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(16)
  fn(w)
  return w.toBuffer()
}

t.test('fixed-width integers are big-endian and round-trip', async (t) => {
  const buf = written((w) => {
    w.int8(-2)
    w.int16(-2)
    w.uint16(65535)
    w.int32(-2)
    w.uint32(0xfffffffe)
    w.int64(-2)
    w.int64(2 ** 53 - 1)
    w.float64(1.5)
    w.bool(true)
    w.bool(false)
  })
  t.same(buf.subarray(0, 13), bytes(0xfe, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe))
  t.same(buf.subarray(13, 21), bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe))
  const r = new Reader(buf)
  t.equal(r.int8(), -2)
  t.equal(r.int16(), -2)
  t.equal(r.uint16(), 65535)
  t.equal(r.int32(), -2)
  t.equal(r.uint32(), 0xfffffffe)
  t.equal(r.int64(), -2)
  t.equal(r.int64(), 2 ** 53 - 1)
  t.equal(r.float64(), 1.5)
  t.equal(r.bool(), true)
  t.equal(r.bool(), false)
  t.equal(r.remaining(), 0)
})

t.test('int64 edge values', async (t) => {
  for (const n of [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    t.equal(new Reader(written((w) => w.int64(n))).int64(), n, `int64 ${n}`)
  }
  // int64 max on the wire reads as the nearest double.
  t.equal(new Reader(bytes(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).int64(), 2 ** 63)
})

t.test('unsigned and zigzag varints', async (t) => {
  t.same(written((w) => w.uvarint(0)), bytes(0))
  t.same(written((w) => w.uvarint(127)), bytes(0x7f))
  t.same(written((w) => w.uvarint(128)), bytes(0x80, 0x01))
  t.same(written((w) => w.uvarint(300)), bytes(0xac, 0x02))
  t.same(written((w) => w.uvarint(0xffffffff)), bytes(0xff, 0xff, 0xff, 0xff, 0x0f))
  t.same(written((w) => w.varint(-1)), bytes(0x01))
  t.same(written((w) => w.varint(1)), bytes(0x02))
  t.same(written((w) => w.varint(-64)), bytes(0x7f))
  for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 32 - 1]) t.equal(new Reader(written((w) => w.uvarint(n))).uvarint(), n)
  for (const n of [0, -1, 1, -(2 ** 31), 2 ** 31 - 1, 63, -64, 64, -65]) t.equal(new Reader(written((w) => w.varint(n))).varint(), n)
  for (const n of [0, 1, 2 ** 35, Number.MAX_SAFE_INTEGER]) t.equal(new Reader(written((w) => w.uvarlong(n))).uvarlong(), n)
  for (const n of [0, -1, 1, -(2 ** 40), 2 ** 40, 2 ** 52, -(2 ** 52)]) t.equal(new Reader(written((w) => w.varlong(n))).varlong(), n)
  t.same(written((w) => w.varlong(-1)), bytes(0x01))
  t.same(written((w) => w.varlong(150)), bytes(0xac, 0x02))
  t.throws(() => new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)).uvarint(), DecodeError, 'varint longer than 5 bytes')
  t.throws(() => new Reader(bytes(0xff, 0xff)).uvarint(), DecodeError, 'truncated varint')
  t.throws(() => new Reader(Buffer.alloc(11, 0xff)).uvarlong(), DecodeError, 'varlong longer than 10 bytes')
})

t.test('strings: classic, compact, nullable, UTF-8', async (t) => {
  const buf = written((w) => {
    w.string('héllo')
    w.nullableString(null)
    w.compactString('')
    w.compactNullableString(null)
    w.compactNullableString('ok')
  })
  t.same(buf.subarray(0, 2), bytes(0, 6), 'length counts UTF-8 bytes')
  const r = new Reader(buf)
  t.equal(r.string(), 'héllo')
  t.equal(r.nullableString(), null)
  t.equal(r.compactString(), '')
  t.equal(r.compactNullableString(), null)
  t.equal(r.compactNullableString(), 'ok')
  t.equal(r.remaining(), 0)
  t.throws(() => new Reader(bytes(0xff, 0xff)).string(), DecodeError, 'null where a string is required')
  t.throws(() => new Reader(bytes(0xff, 0xfe)).nullableString(), DecodeError, 'negative length other than -1')
  t.throws(() => new Reader(bytes(0x00, 0x05, 0x41)).string(), DecodeError, 'length beyond the buffer')
  t.throws(() => new Reader(bytes(0x00)).compactString(), DecodeError, 'compact null where required')
})

t.test('bytes are zero-copy views', async (t) => {
  const payload = Buffer.from('abcdef')
  const buf = written((w) => {
    w.bytes(payload)
    w.nullableBytes(null)
    w.compactBytes(payload)
    w.compactNullableBytes(null)
  })
  const r = new Reader(buf)
  const a = r.bytes()
  t.same(a, payload)
  t.equal(a.buffer, buf.buffer, 'a view into the input, not a copy')
  t.equal(r.nullableBytes(), null)
  t.same(r.compactBytes(), payload)
  t.equal(r.compactNullableBytes(), null)
  t.throws(() => new Reader(bytes(0xff, 0xff, 0xff, 0xfe)).nullableBytes(), DecodeError)
  t.throws(() => new Reader(bytes(0, 0, 0, 9, 1)).bytes(), DecodeError)
})

t.test('reader respects its end bound', async (t) => {
  const buf = bytes(0, 0, 0, 1, 0, 0, 0, 2)
  const r = new Reader(buf, 0, 4)
  t.equal(r.int32(), 1)
  t.throws(() => r.int8(), DecodeError)
  t.throws(() => new Reader(buf, 4, 2), DecodeError)
  const s = new Reader(buf, 4)
  t.equal(s.int32(), 2)
})

t.test('arrays: lengths are checked before any allocation', async (t) => {
  t.throws(() => new Reader(bytes(0x7f, 0xff, 0xff, 0xff)).array(false, (r) => r.int8()), DecodeError, 'huge classic length')
  t.throws(() => new Reader(bytes(0xff, 0xff, 0xff, 0x0f)).array(true, (r) => r.int8()), DecodeError, 'huge compact length')
  t.throws(() => new Reader(bytes(0xff, 0xff, 0xff, 0xfe)).nullableArray(false, (r) => r.int8()), DecodeError, 'length -2')
  t.equal(new Reader(bytes(0xff, 0xff, 0xff, 0xff)).nullableArray(false, (r) => r.int8()), null)
  t.equal(new Reader(bytes(0)).nullableArray(true, (r) => r.int8()), null)
  t.throws(() => new Reader(bytes(0)).array(true, (r) => r.int8()), DecodeError, 'null where required')
  const buf = written((w) => w.array(true, [1, 2, 3], (w, _v, n) => w.int16(n)))
  t.same(buf, bytes(4, 0, 1, 0, 2, 0, 3))
  t.same(new Reader(buf).array(true, (r) => r.int16()), [1, 2, 3])
})

t.test('tagged fields: skip unknown, bound known', async (t) => {
  const buf = written((w) => {
    w.uvarint(2)
    w.taggedField(0, (w) => w.int32(7))
    w.taggedField(5, (w) => w.compactString('x'))
    w.int8(42)
  })
  t.same(buf.subarray(0, 7), bytes(2, 0, 4, 0, 0, 0, 7))
  const r = new Reader(buf)
  r.skipTaggedFields()
  t.equal(r.int8(), 42)
  t.throws(() => new Reader(bytes(1, 0, 9, 0)).skipTaggedFields(), DecodeError, 'tag size beyond the buffer')
  const over = new Reader(bytes(0, 0, 0, 0))
  over.uvarint()
  const end = over.offset + 1
  over.int16()
  t.throws(() => over.finishTag(end), DecodeError, 'overrun of a tagged value')
})

t.test('writer: large buffers are kept by reference, positions stay absolute', async (t) => {
  const big = Buffer.alloc(ZERO_COPY_THRESHOLD, 7)
  const w = new Writer(8)
  const sizeAt = w.reserveInt32()
  w.int16(1)
  w.bytes(big)
  w.int16(2)
  const lenAt = w.reserveInt32()
  for (let i = 0; i < 100; i++) w.int32(i) // forces the scratch to grow
  w.setInt32(sizeAt, w.length - 4)
  w.setInt32(lenAt, 12345)
  const chunks = w.chunks()
  t.ok(chunks.includes(big), 'the large payload is a chunk of its own, not copied')
  const all = w.toBuffer()
  t.equal(all.length, w.length)
  const r = new Reader(all)
  t.equal(r.int32(), all.length - 4)
  t.equal(r.int16(), 1)
  t.same(r.bytes(), big)
  t.equal(r.int16(), 2)
  t.equal(r.int32(), 12345)
  for (let i = 0; i < 100; i++) t.equal(r.int32(), i)
  const small = Buffer.alloc(100, 1)
  const w2 = new Writer()
  w2.bytes(small)
  t.equal(w2.chunks().length, 1, 'small buffers are copied into the scratch')
  t.throws(() => w.setInt32(w.length - 2, 0), 'cannot set beyond the written bytes')
})

t.test('writer: continuing after chunks() keeps earlier chunks intact', async (t) => {
  const w = new Writer(4)
  w.int32(1)
  const first = w.chunks()
  w.int32(2)
  t.same(Buffer.concat(first), bytes(0, 0, 0, 1))
  t.same(w.toBuffer(), bytes(0, 0, 0, 1, 0, 0, 0, 2))
})

t.test('writer: a nested writer keeps its big chunks by reference', async (t) => {
  const big = Buffer.alloc(ZERO_COPY_THRESHOLD * 2, 3)
  const inner = new Writer()
  inner.int8(1)
  inner.raw(big)
  const outer = new Writer()
  outer.writer(inner)
  t.ok(outer.chunks().includes(big))
  t.equal(outer.length, big.length + 1)
})

t.test('uuids', async (t) => {
  t.equal(uuidFromBytes(Buffer.alloc(16)), ZERO_UUID)
  const one = Buffer.alloc(16)
  one[15] = 1
  t.equal(uuidFromBytes(one), METADATA_TOPIC_UUID)
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const u = randomUuid()
    t.not(u, ZERO_UUID)
    t.not(u, METADATA_TOPIC_UUID)
    t.ok(isValidUuid(u))
    t.notOk(u.startsWith('-'))
    t.equal(uuidFromBytes(uuidToBytes(u)), u)
    seen.add(u)
  }
  t.equal(seen.size, 200)
  t.equal(uuidToHex(METADATA_TOPIC_UUID), '00000000-0000-0000-0000-000000000001')
  t.throws(() => uuidToBytes('short'), InvalidUuidError)
  t.throws(() => uuidToBytes('AAAAAAAAAAAAAAAAAAAAAB'), InvalidUuidError, 'non-canonical last character')
  const u = randomUuid()
  t.equal(new Reader(written((w) => w.uuid(u))).uuid(), u)
  t.equal(written((w) => w.uuid(u)).length, 16)
})
