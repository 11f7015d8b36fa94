/**
 * Structured clone (postMessage) turns a Buffer into a plain Uint8Array on the other thread.
 * Code on both sides of a port link works with Buffers (the protocol writer, `equals`), so a
 * receiver restores them: every Uint8Array inside plain objects and arrays becomes a Buffer
 * view of the same memory (no copy).
 */
export function restoreBuffers<T>(value: T): T {
  return restore(value) as T
}

function restore(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restore(v[i])
    return v
  }
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) o[k] = restore(o[k])
  }
  return v
}
