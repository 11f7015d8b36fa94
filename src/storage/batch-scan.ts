/**
 * Walking the batches of a `.log` file with synchronous reads.
 *
 * Two walkers share one idea: read a large chunk, visit every batch that lies in it,
 * read the next chunk. `scanBatchHeaders` needs only each header (index lookups, log-end
 * discovery); `scanBatchesVerified` needs whole batches to check sizes, magic and CRC
 * (recovery). Scratch buffers are module-level: a shard worker runs one scan at a time, and a
 * visitor must never start another scan (it would overwrite the chunk it is looking at).
 */
import { readSync, writeSync } from 'node:fs'
import { LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, batchLengthOf, checkBatchFraming } from './record-batch.ts'

/** Return false to stop the walk. `buf` holds the batch header (and, when verified, the whole batch) at `bufPos`. */
export type BatchVisitor = (buf: Buffer, bufPos: number, filePos: number, size: number) => boolean

const HEADER_CHUNK = 64 * 1024
const VERIFY_CHUNK = 1024 * 1024
let headerScratch: Buffer | null = null
let verifyScratch: Buffer | null = null

/** Reads up to `length` bytes at `position`; returns how many arrived (fewer only at end of file). */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0
  while (done < length) {
    const n = readSync(fd, buf, offset + done, length - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** Writes all `length` bytes at `position` (writeSync may write fewer than asked). */
export function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0
  while (done < length) done += writeSync(fd, buf, offset + done, length - done, position + done)
}

/**
 * Visits batch headers in [start, end). Returns the position after the last batch visited
 * whole, or where the visitor stopped (the start of that batch). A result < end with no stop
 * means a torn batch: a header or body that does not fit before `end`.
 */
export function scanBatchHeaders(fd: number, start: number, end: number, visit: BatchVisitor): number {
  headerScratch ??= Buffer.allocUnsafeSlow(HEADER_CHUNK)
  const buf = headerScratch
  let chunkStart = start
  let chunkLength = 0
  let pos = start
  while (end - pos >= RECORD_BATCH_OVERHEAD) {
    if (pos + RECORD_BATCH_OVERHEAD > chunkStart + chunkLength) {
      chunkStart = pos
      chunkLength = readFully(fd, buf, 0, Math.min(HEADER_CHUNK, end - pos), pos)
      if (chunkLength < RECORD_BATCH_OVERHEAD) return pos
    }
    const bufPos = pos - chunkStart
    const batchLength = batchLengthOf(buf, bufPos)
    const size = LOG_OVERHEAD + batchLength
    if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD || pos + size > end) return pos
    if (!visit(buf, bufPos, pos, size)) return pos
    pos += size
  }
  return pos
}

export interface VerifiedScan {
  /** End of the last intact batch: the log is valid in [start, validEnd). */
  validEnd: number
  /** Why the walk stopped before `end`, if it did. */
  reason?: string
}

/** Visits whole, intact batches (size, magic 2, CRC-32C) in [start, end); stops at the first bad one. */
export function scanBatchesVerified(fd: number, start: number, end: number, visit: BatchVisitor): VerifiedScan {
  verifyScratch ??= Buffer.allocUnsafeSlow(VERIFY_CHUNK)
  let buf = verifyScratch
  let chunkStart = start
  let chunkLength = 0
  let pos = start
  while (pos < end) {
    if (end - pos < LOG_OVERHEAD) return { validEnd: pos, reason: 'truncated batch header' }
    if (pos + LOG_OVERHEAD > chunkStart + chunkLength) {
      buf = verifyScratch
      chunkStart = pos
      chunkLength = readFully(fd, buf, 0, Math.min(buf.length, end - pos), pos)
      if (chunkLength < LOG_OVERHEAD) return { validEnd: pos, reason: 'file shorter than expected' }
    }
    const size = LOG_OVERHEAD + batchLengthOf(buf, pos - chunkStart)
    if (size >= LOG_OVERHEAD && pos + size <= end && pos + size > chunkStart + chunkLength) {
      // The batch does not fit in what we read: read it on its own (larger than the chunk if need be).
      buf = size > verifyScratch.length ? Buffer.allocUnsafe(size) : verifyScratch
      chunkStart = pos
      chunkLength = readFully(fd, buf, 0, Math.min(buf.length, end - pos), pos)
    }
    const bufPos = pos - chunkStart
    const problem = checkBatchFraming(buf, bufPos, Math.min(chunkLength, end - chunkStart))
    if (problem !== null) return { validEnd: pos, reason: problem.message }
    if (!visit(buf, bufPos, pos, size)) return { validEnd: pos }
    pos += size
  }
  return { validEnd: pos }
}
