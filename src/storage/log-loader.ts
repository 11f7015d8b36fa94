/**
 * Opening a partition directory: `partition.metadata`, the segment list, and — after an unclean
 * stop — recovery from the recovery point (Kafka's LogLoader).
 *
 * Recovery walks every segment from the one holding the recovery point, checks each batch
 * (size, magic, CRC-32C), rebuilds the indexes, cuts the file after the last intact batch and
 * deletes any later segments. Producer state is then rebuilt from the newest snapshot at or below
 * the new log end plus a header scan of the batches after it.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { assert } from '../lib/assert.ts'
import { scanBatchHeaders } from './batch-scan.ts'
import { writeFileAtomically } from './checkpoint-file.ts'
import type { FileHandleCache } from './file-handles.ts'
import type { LeaderEpochCache } from './leader-epoch-cache.ts'
import { lastSequenceOf, type ProducerStateManager } from './producer-state.ts'
import {
  baseOffsetOf, baseSequenceOf, isControl, isTransactional, lastOffsetDeltaOf, lastOffsetOf, partitionLeaderEpochOf,
  producerEpochOf, producerIdOf,
} from './record-batch.ts'
import { completeInterruptedSwaps } from './log-cleaner-swap.ts'
import { LogSegment } from './segment.ts'
import { REBUILD_SUFFIX } from './segment-index.ts'

export interface LoaderLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export const PARTITION_METADATA_FILE = 'partition.metadata'

/**
 * Writes `partition.metadata` for a new directory, or checks that an existing one names
 * `topicId`. Throws on a mismatch. Returns true when it wrote the file without fsync: like
 * Kafka, a new partition's metadata is made durable lazily (at its first flush), so creating
 * 10,000 empty partitions does not cost 10,000 fsync rounds. A file lost or torn that way
 * belongs to a partition without flushed data, and is simply written again.
 */
export function checkPartitionMetadata(dir: string, topicId: string): boolean {
  const path = `${dir}/${PARTITION_METADATA_FILE}`
  const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const version = /^version: *(\S+)$/m.exec(text)?.[1]
  const stored = /^topic_id: *(\S+)$/m.exec(text)?.[1]
  if (text === '' || ((version !== '0' || stored === undefined) && !hasLogData(dir))) {
    writeFileAtomically(path, `version: 0\ntopic_id: ${topicId}\n`, false)
    return true
  }
  if (version !== '0' || stored === undefined) throw new Error(`${path} is malformed: ${JSON.stringify(text)}`)
  if (stored !== topicId) {
    throw new Error(`${dir} belongs to topic id ${stored}, not ${topicId}: refusing to open it (was the topic deleted and re-created?)`)
  }
  return false
}

/** Whether any segment of `dir` holds bytes. */
function hasLogData(dir: string): boolean {
  return readdirSync(dir).some((name) => /^\d{20}\.log$/.test(name) && statSync(`${dir}/${name}`).size > 0)
}

export interface LoadOptions {
  dir: string
  fds: FileHandleCache
  indexIntervalBytes: number
  now: number
  recoveryPoint: number
  cleanShutdown: boolean
  logStartOffset: number | undefined
  epochCache: LeaderEpochCache
  producerState: ProducerStateManager
  logger: LoaderLogger | undefined
}

export interface LoadedLog {
  segments: LogSegment[]
  logEndOffset: number
  recoveryPoint: number
  logStartOffset: number
  /** A producer snapshot exists at exactly the log end offset (nothing to write at close if nothing changes). */
  snapshotAtEnd: boolean
}

interface SegmentFile {
  baseOffset: number
  size: number
  /** Both `.index` and `.timeindex` exist (from the same directory listing: no stat per segment). */
  hasIndexes: boolean
}

/** Base offsets of the `.log` files in `dir`, ascending; leftovers of interrupted operations are removed. */
function listSegmentFiles(dir: string): SegmentFile[] {
  const found: SegmentFile[] = []
  const names = readdirSync(dir)
  const present = new Set(names)
  for (const name of names) {
    if (name.endsWith('.deleted') || name.endsWith('.cleaned') || name.endsWith('.swap') || name.endsWith('.tmp') || name.endsWith(REBUILD_SUFFIX)) {
      rmSync(`${dir}/${name}`, { force: true }) // Kafka deletes these on load too
      continue
    }
    const m = /^(\d{20})\.log$/.exec(name)
    if (m !== null) {
      const prefix = m[1]!
      found.push({
        baseOffset: Number(prefix), size: statSync(`${dir}/${name}`).size,
        hasIndexes: present.has(`${prefix}.index`) && present.has(`${prefix}.timeindex`),
      })
    }
  }
  // Index files whose .log is gone: a stop between the renames of a segment deletion (the .log
  // goes first). Kafka removes such orphans on load too.
  const bases = new Set(found.map((f) => f.baseOffset))
  for (const name of readdirSync(dir)) {
    const orphan = /^(\d{20})\.(?:index|timeindex)$/.exec(name)
    if (orphan !== null && !bases.has(Number(orphan[1]))) rmSync(`${dir}/${name}`, { force: true })
  }
  return found.sort((a, b) => a.baseOffset - b.baseOffset)
}

export function loadLog(o: LoadOptions): LoadedLog {
  // A `.swap` file left by an interrupted compaction replaces the segments it covers (Kafka's
  // behaviour); only then are the remaining leftovers removed by listSegmentFiles.
  const swapped = new Set(completeInterruptedSwaps(o.dir, (obj, msg) => o.logger?.warn(obj, msg)))
  const files = listSegmentFiles(o.dir)
  if (files.length === 0) {
    const base = o.logStartOffset ?? 0
    // The new segment's directory entry is fsynced by the partition's first flush.
    const segment = LogSegment.create(o.dir, base, o.fds, o.indexIntervalBytes)
    o.producerState.clear()
    o.epochCache.truncateFromEnd(base)
    return { segments: [segment], logEndOffset: base, recoveryPoint: base, logStartOffset: base, snapshotAtEnd: false }
  }
  const segments = files.map((f) => LogSegment.existing(o.dir, f.baseOffset, o.fds, o.indexIntervalBytes, f.size))
  // A swapped-in segment has no indexes yet (a cleaned segment is never the active one; if it is
  // the last one here, the active-segment checks below recover it anyway). Nor has a rolled
  // segment whose index files are missing, whatever the kind of stop: a swap that stopped after
  // its last rename but before the rebuild, or index files an operator deleted to have them
  // rebuilt (Kafka rebuilds missing indexes at load). Without a `.timeindex` the segment would
  // look timestamp-less: ListOffsets by time would skip its records and retention would go by
  // the file's mtime.
  for (const [i, segment] of segments.slice(0, -1).entries()) {
    if (swapped.has(segment.baseOffset) || (segment.size > 0 && !files[i]!.hasIndexes)) segment.rebuildIndexes(o.now)
  }
  let recoverFrom = segments.length // index of the first segment to recover
  if (!o.cleanShutdown) {
    recoverFrom = Math.max(0, segments.findLastIndex((s) => s.baseOffset <= o.recoveryPoint))
  } else if (!segments.at(-1)!.loadAsActive(o.now)) {
    o.logger?.warn({ dir: o.dir }, 'active segment index is damaged after a clean shutdown; recovering it')
    recoverFrom = segments.length - 1
  }
  if (recoverFrom < segments.length) recoverSegments(o, segments, recoverFrom)
  const logEndOffset = segments.at(-1)!.nextOffset
  const logStartOffset = Math.min(Math.max(o.logStartOffset ?? 0, segments[0]!.baseOffset), logEndOffset)
  o.epochCache.truncateFromEnd(logEndOffset)
  o.epochCache.truncateFromStart(logStartOffset)
  const snapshotAtEnd = rebuildProducerState(o, segments, logEndOffset)
  return { segments, logEndOffset, recoveryPoint: Math.min(o.recoveryPoint, logEndOffset), logStartOffset, snapshotAtEnd }
}

function recoverSegments(o: LoadOptions, segments: LogSegment[], from: number): void {
  o.logger?.info({ dir: o.dir, recoveryPoint: o.recoveryPoint, fromSegment: segments[from]!.baseOffset }, 'recovering log after an unclean shutdown')
  for (let i = from; i < segments.length; i++) {
    const segment = segments[i]!
    const isLast = i === segments.length - 1
    const result = segment.recover((buf, p) => {
      // Only an epoch newer than every known one starts a new entry (AK's LogSegment.recover).
      // The checkpoint already holds the epochs of the segments before the recovery point, and
      // re-assigning an older epoch here would move its start offset up to the first recovered
      // batch — OffsetForLeaderEpoch would then answer a wrong end offset for the epoch before.
      const epoch = partitionLeaderEpochOf(buf, p)
      if (epoch > o.epochCache.latestEpoch) o.epochCache.assign(epoch, baseOffsetOf(buf, p))
      return true
    }, isLast, o.now)
    if (result.truncatedBytes > 0 || (!isLast && segments[i + 1]!.baseOffset < segment.nextOffset)) {
      o.logger?.warn({ dir: o.dir, segment: segment.baseOffset, truncatedBytes: result.truncatedBytes, reason: result.reason }, 'truncated a torn log tail')
      // Everything after a damaged batch is unreachable: drop the later segments (Kafka does the same).
      for (const later of segments.splice(i + 1)) deleteSegmentFiles(later)
      if (!isLast) reloadAsActive(segment, o.now)
      break
    }
  }
}

/** A recovered segment that turned out to be the last one must have its in-memory indexes back. */
function reloadAsActive(segment: LogSegment, now: number): void {
  const ok = segment.loadAsActive(now)
  assert(ok, `segment ${segment.logPath} failed to load right after its recovery`)
}

export function deleteSegmentFiles(segment: LogSegment): void {
  segment.close()
  for (const path of [segment.logPath, segment.offsetIndex.path, segment.timeIndex.path]) rmSync(path, { force: true })
}

/** Snapshot at or below the log end, then a header scan of the batches after it. True if the snapshot was at the end. */
export function rebuildProducerState(o: Pick<LoadOptions, 'fds' | 'now' | 'producerState'>, segments: LogSegment[], logEndOffset: number): boolean {
  const snapshotOffset = o.producerState.loadSnapshot(logEndOffset)
  if (snapshotOffset === logEndOffset) return true
  const from = Math.max(snapshotOffset, 0)
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const next = segments[i + 1]
    if (next !== undefined && next.baseOffset <= from) continue // every batch of this segment is below `from`
    const start = segment.findBatch(from)
    if (start === null) continue
    scanBatchHeaders(o.fds.get(segment.logPath), start.position, segment.size, (buf, p) => {
      const producerId = producerIdOf(buf, p)
      if (producerId < 0 || isControl(buf, p) || lastOffsetOf(buf, p) < from) return true
      const baseSequence = baseSequenceOf(buf, p)
      o.producerState.update(producerId, producerEpochOf(buf, p), baseSequence, lastSequenceOf(baseSequence, lastOffsetDeltaOf(buf, p)),
        baseOffsetOf(buf, p), lastOffsetOf(buf, p), o.now, isTransactional(buf, p))
      return true
    })
  }
  return false
}
