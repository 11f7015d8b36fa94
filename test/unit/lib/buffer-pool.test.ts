import t from 'tap'
import { BufferPool, MIN_CLASS } from '../../../src/lib/buffer-pool.ts'

t.test('buffers are reused by size class, bounded, and foreign or detached ones are ignored', async (t) => {
  const pool = new BufferPool(4 * MIN_CLASS)
  const a = pool.take(MIN_CLASS + 1)
  t.equal(a.length, MIN_CLASS + 1, 'a view of exactly the requested size')
  t.equal(a.buffer.byteLength, 2 * MIN_CLASS, 'on a buffer of the next power-of-two class')
  a[0] = 42
  pool.give(a.buffer as ArrayBuffer)
  t.equal(pool.pooledBytes, 2 * MIN_CLASS)
  const b = pool.take(2 * MIN_CLASS - 5)
  t.equal(b.buffer, a.buffer, 'the same memory comes back for the same class')
  t.equal(pool.pooledBytes, 0)
  pool.give(new ArrayBuffer(1000))
  pool.give(new ArrayBuffer(3 * MIN_CLASS))
  t.equal(pool.pooledBytes, 0, 'buffers that are not a size class are not pooled')
  for (let i = 0; i < 10; i++) pool.give(new ArrayBuffer(MIN_CLASS))
  t.equal(pool.pooledBytes, 4 * MIN_CLASS, 'never more than the bound')
  const transferred = new ArrayBuffer(MIN_CLASS)
  structuredClone(transferred, { transfer: [transferred] })
  const before = pool.pooledBytes
  pool.give(transferred)
  t.equal(pool.pooledBytes, before, 'a detached buffer is ignored')
  t.equal(pool.take(100).buffer.byteLength, 100, 'small requests get their own small buffer')
})
