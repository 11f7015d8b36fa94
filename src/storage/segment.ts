/**
 * One log segment: `<base>.log` (concatenated batches), `<base>.index` (8-byte entries
 * i32 relative offset, i32 position) and `<base>.timeindex` (12-byte entries i64 timestamp,
 * i32 relative offset), Kafka's formats.
 *
 * Index files are never preallocated: they grow by one entry at a time. While a segment
 * is active its entries are also kept in small growable arrays; a rolled segment keeps
 * nothing in memory and answers lookups with positioned reads of its index files, so idle
 * and old segments cost a few hundred bytes and no fd (fds come from the shared LRU).
 */
import { fdatasyncSync, fstatSync, ftruncateSync } from 'node:fs'
import { assert, assertSafeInteger } from '../lib/assert.ts'
import { readFully, scanBatchHeaders, scanBatchesVerified, writeFully, type BatchVisitor } from './batch-scan.ts'
import type { FileHandleCache } from './file-handles.ts'
import {
  NO_TIMESTAMP, baseOffsetOf, compressionOf, isLogAppendTime, lastOffsetOf, maxTimestampOf, partitionLeaderEpochOf,
} from './record-batch.ts'
import { findRecordAtOrAfterTimestamp } from './record-batch-reader.ts'
import { recompressBatch } from './recompress.ts'
import { TimeIndex, OffsetIndex } from './segment-index.ts'

export const INT32_MAX = 0x7fffffff

/** `00000000000000000042` — Kafka's LogFileUtils.filenamePrefixFromOffset. */
export function filenamePrefixFromOffset(offset: number): string {
  assertSafeInteger(offset, 'segment base offset')
  return String(offset).padStart(20, '0')
}

export interface TimestampAndOffset {
  offset: number
  timestamp: number
  leaderEpoch: number
}

export class LogSegment {
  readonly baseOffset: number
  readonly logPath: string
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  private readonly fds: FileHandleCache
  private readonly indexIntervalBytes: number
  /** Bytes in the .log file; every byte below it belongs to a whole batch. */
  size: number
  /** The offset after this segment's last batch (baseOffset while empty). */
  nextOffset: number
  /** Largest batch maxTimestamp seen in this segment and the last offset of its batch; -1 while unknown/empty. */
  private maxTimestampSoFar = NO_TIMESTAMP
  private offsetOfMaxTimestampSoFar = -1
  private maxTimestampKnown: boolean
  private bytesSinceLastIndexEntry = 0
  /** now() when the segment got its first batch (or was reopened non-empty): the segment.ms clock. */
  rollingBaseTime = -1

  private constructor(dir: string, baseOffset: number, fds: FileHandleCache, indexIntervalBytes: number, size: number) {
    this.baseOffset = baseOffset
    const prefix = `${dir}/${filenamePrefixFromOffset(baseOffset)}`
    this.logPath = `${prefix}.log`
    this.offsetIndex = new OffsetIndex(`${prefix}.index`, fds)
    this.timeIndex = new TimeIndex(`${prefix}.timeindex`, fds)
    this.fds = fds
    this.indexIntervalBytes = indexIntervalBytes
    this.size = size
    this.nextOffset = baseOffset
    this.maxTimestampKnown = size === 0
  }

  /** A new, empty, active segment; stale files of the same name are truncated. */
  static create(dir: string, baseOffset: number, fds: FileHandleCache, indexIntervalBytes: number): LogSegment {
    const segment = new LogSegment(dir, baseOffset, fds, indexIntervalBytes, 0)
    ftruncateSync(fds.get(segment.logPath, true), 0)
    segment.offsetIndex.reset()
    segment.timeIndex.reset()
    segment.offsetIndex.activate()
    segment.timeIndex.activate()
    return segment
  }

  /** An existing segment, opened lazily: nothing is read until a lookup needs it. */
  static existing(dir: string, baseOffset: number, fds: FileHandleCache, indexIntervalBytes: number, size: number): LogSegment {
    return new LogSegment(dir, baseOffset, fds, indexIntervalBytes, size)
  }

  /**
   * Loads the indexes of the segment that becomes active after a clean shutdown and finds its
   * end (nextOffset, max timestamp) by scanning the batches after the last index entry.
   * Returns false when the files look damaged; the caller then recovers the segment.
   */
  loadAsActive(now: number): boolean {
    if (!this.offsetIndex.load(this.size) || !this.timeIndex.load(this.size)) return false
    const last = this.offsetIndex.lastEntry()
    const start = last === null ? 0 : last.position
    const lastTime = this.timeIndex.lastEntry()
    if (lastTime !== null) {
      this.maxTimestampSoFar = lastTime.timestamp
      this.offsetOfMaxTimestampSoFar = this.baseOffset + lastTime.relativeOffset
    }
    this.nextOffset = last === null ? this.baseOffset : this.baseOffset + last.relativeOffset + 1
    const end = scanBatchHeaders(this.fd(), start, this.size, (buf, p) => {
      this.noteBatch(lastOffsetOf(buf, p), maxTimestampOf(buf, p))
      return true
    })
    if (end !== this.size) return false
    this.maxTimestampKnown = true
    this.bytesSinceLastIndexEntry = this.size - start
    if (this.size > 0) this.rollingBaseTime = now
    return true
  }

  /**
   * Rebuilds this segment from its .log: checks every batch (size, magic, CRC-32C), rebuilds both
   * indexes, and truncates the file after the last intact batch. `onBatch` sees each intact batch
   * (producer state, leader epochs). Returns the number of bytes cut off.
   */
  recover(onBatch: BatchVisitor, active: boolean, now: number): { truncatedBytes: number; reason?: string } {
    const fd = this.fd()
    const fileSize = fstatSync(fd).size
    this.offsetIndex.reset()
    this.timeIndex.reset()
    this.offsetIndex.activate()
    this.timeIndex.activate()
    this.size = 0
    this.nextOffset = this.baseOffset
    this.maxTimestampSoFar = NO_TIMESTAMP
    this.offsetOfMaxTimestampSoFar = -1
    this.bytesSinceLastIndexEntry = 0
    const scan = scanBatchesVerified(fd, 0, fileSize, (buf, p, filePos, batchSize) => {
      if (baseOffsetOf(buf, p) < this.baseOffset || lastOffsetOf(buf, p) - this.baseOffset > INT32_MAX) return false
      this.afterWrite(filePos, batchSize, lastOffsetOf(buf, p), maxTimestampOf(buf, p))
      return onBatch(buf, p, filePos, batchSize)
    })
    const truncatedBytes = fileSize - scan.validEnd
    if (truncatedBytes > 0) ftruncateSync(fd, scan.validEnd)
    this.maxTimestampKnown = true
    if (this.size > 0) this.rollingBaseTime = now
    if (!active) this.onBecomeInactive()
    return scan.reason === undefined ? { truncatedBytes } : { truncatedBytes, reason: scan.reason }
  }

  /**
   * Rebuilds a rolled segment's indexes (missing, or never written for a swapped-in cleaned
   * segment) without ever leaving a partial index under the real name: see
   * SparseIndex.beginRebuild. The caller has made sure nothing reads the segment meanwhile.
   */
  rebuildIndexes(now: number): void {
    this.offsetIndex.beginRebuild()
    this.timeIndex.beginRebuild()
    this.recover(() => true, false, now)
    this.offsetIndex.commitRebuild()
    this.timeIndex.commitRebuild()
  }

  /**
   * Cuts the .log at `position` (a batch boundary) and rebuilds both indexes from what is left
   * (a truncation is rare: a follower whose log diverged from its leader's). The segment becomes
   * the active one.
   */
  truncateTo(position: number, now: number): void {
    assert(position >= 0 && position <= this.size, `truncate of ${this.logPath} at ${position} outside [0, ${this.size}]`)
    ftruncateSync(this.fd(), position)
    this.recover(() => true, true, now)
  }

  /**
   * Writes a batch (or several) at the end of the .log. When this returns, the bytes are in the
   * file (page cache): a process crash cannot lose them. Index entries follow Kafka's rule: an
   * entry (last offset → start position of this append) once more than index.interval.bytes were
   * written since the previous entry.
   */
  append(buf: Buffer, offset: number, length: number, lastOffset: number, maxTimestamp: number, now: number): void {
    assert(lastOffset >= this.nextOffset, `append of offset ${lastOffset} below segment end ${this.nextOffset}`)
    assert(lastOffset - this.baseOffset <= INT32_MAX, 'relative offset overflows int32')
    if (this.size === 0) this.rollingBaseTime = now
    const position = this.size
    const fd = this.fd()
    try {
      writeFully(fd, buf, offset, length, position)
    } catch (err) {
      // Leave no partial batch behind: a later append must not land after garbage.
      try { ftruncateSync(fd, position) } catch { /* the disk is failing; recovery will cut it */ }
      throw err
    }
    this.afterWrite(position, length, lastOffset, maxTimestamp)
  }

  private afterWrite(position: number, length: number, lastOffset: number, maxTimestamp: number): void {
    this.noteBatch(lastOffset, maxTimestamp)
    if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset - this.baseOffset, position)
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar - this.baseOffset)
      this.bytesSinceLastIndexEntry = 0
    }
    this.bytesSinceLastIndexEntry += length
    this.size = position + length
  }

  private noteBatch(lastOffset: number, maxTimestamp: number): void {
    if (maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestamp
      this.offsetOfMaxTimestampSoFar = lastOffset
    }
    this.nextOffset = lastOffset + 1
  }

  /** On roll: the time index gets a final entry for the segment's max timestamp (retention and time lookups read it), and the in-memory index goes away. */
  onBecomeInactive(): void {
    if (this.maxTimestampSoFar >= 0) this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar - this.baseOffset)
    this.offsetIndex.deactivate()
    this.timeIndex.deactivate()
  }

  /** The largest timestamp in the segment: for rolled segments the last time-index entry. */
  largestTimestamp(): number {
    if (!this.maxTimestampKnown) {
      const last = this.timeIndex.lastEntry()
      this.maxTimestampSoFar = last === null ? NO_TIMESTAMP : last.timestamp
      this.offsetOfMaxTimestampSoFar = last === null ? -1 : this.baseOffset + last.relativeOffset
      this.maxTimestampKnown = true
    }
    return this.maxTimestampSoFar
  }

  /** Whether another index entry would exceed segment.index.bytes (Kafka rolls on a full index). */
  isIndexFull(segmentIndexBytes: number): boolean {
    return this.offsetIndex.entryCount() >= Math.floor(segmentIndexBytes / 8) || this.timeIndex.entryCount() >= Math.floor(segmentIndexBytes / 12)
  }

  /** Start position and header facts of the first batch whose last offset is >= `offset`; null if none in this segment. */
  findBatch(offset: number): { position: number; size: number; baseOffset: number; lastOffset: number } | null {
    const entry = this.offsetIndex.floor(offset - this.baseOffset)
    let found: { position: number; size: number; baseOffset: number; lastOffset: number } | null = null
    scanBatchHeaders(this.fd(), entry === null ? 0 : entry.position, this.size, (buf, p, filePos, size) => {
      const lastOffset = lastOffsetOf(buf, p)
      if (lastOffset < offset) return true
      found = { position: filePos, size, baseOffset: baseOffsetOf(buf, p), lastOffset }
      return false
    })
    return found
  }

  /**
   * First record (compressed batches decompressed; LogAppendTime batches: their first record) with timestamp >= ts and
   * offset >= `minOffset` (the log start, when DeleteRecords moved it inside this segment),
   * scanning from the time index (AK's LogSegment.findOffsetByTimestamp(timestamp, startingOffset)).
   */
  findByTimestamp(timestamp: number, minOffset: number = this.baseOffset): TimestampAndOffset | null {
    if (this.largestTimestamp() < timestamp) return null
    const timeEntry = this.timeIndex.floorBelow(timestamp)
    const startOffset = Math.max(minOffset, timeEntry === null ? this.baseOffset : this.baseOffset + timeEntry.relativeOffset)
    const offsetEntry = this.offsetIndex.floor(startOffset - this.baseOffset)
    let found: TimestampAndOffset | null = null
    scanBatchHeaders(this.fd(), offsetEntry === null ? 0 : offsetEntry.position, this.size, (buf, p, filePos, size) => {
      if (maxTimestampOf(buf, p) < timestamp || lastOffsetOf(buf, p) < minOffset) return true
      const batch = this.read(filePos, size)
      const base = baseOffsetOf(batch, 0)
      const leaderEpoch = partitionLeaderEpochOf(batch, 0)
      if (isLogAppendTime(batch, 0)) {
        // every record carries the batch's append time: the first one at or after minOffset matches
        found = { offset: Math.max(base, minOffset), timestamp: maxTimestampOf(batch, 0), leaderEpoch }
        return false
      }
      // Compressed batches are decompressed (ListOffsets is off the hot path) so the answer is the
      // record's own offset, as Kafka's FileRecords.searchForTimestamp gives, not the batch's base.
      const plain = compressionOf(batch, 0) === 'none' ? batch : recompressBatch(batch, 'none')
      const record = findRecordAtOrAfterTimestamp(plain, 0, timestamp, minOffset - base)
      if (record === null) return true // the matching records are below minOffset: look further
      found = { offset: base + record.offsetDelta, timestamp: record.timestamp, leaderEpoch }
      return false
    })
    return found
  }

  /**
   * Reads [position, position+length) into a Buffer from `alloc` (default: a fresh Buffer with its
   * own ArrayBuffer, transferable to another thread; shard workers pass a recycling pool).
   */
  read(position: number, length: number, alloc: (size: number) => Buffer = Buffer.allocUnsafeSlow): Buffer {
    const out = alloc(length)
    const n = readFully(this.fd(), out, 0, length, position)
    assert(n === length, `short read of ${this.logPath}: ${n} of ${length} bytes at ${position}`)
    return out
  }

  /** The files a flush must sync: the .log and its two indexes. */
  filePaths(): string[] {
    return [this.logPath, this.offsetIndex.path, this.timeIndex.path]
  }

  /** fdatasync of the .log and its indexes. */
  flush(): void {
    fdatasyncSync(this.fd())
    this.offsetIndex.flush()
    this.timeIndex.flush()
  }

  /** Releases this segment's fds (the files stay). */
  close(): void {
    this.fds.close(this.logPath)
    this.offsetIndex.close()
    this.timeIndex.close()
  }

  private fd(): number {
    return this.fds.get(this.logPath)
  }
}
