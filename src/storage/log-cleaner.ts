/**
 * Log compaction for one partition (Kafka's LogCleaner / Cleaner), as a plain function over
 * rolled segment files: it reads them with its own fds, writes `<base>.log.cleaned` files and
 * returns what the partition's owner should swap in. It never renames, deletes or modifies a
 * segment file, so it can run anywhere (inline or on a worker) while the owner keeps appending
 * and serving reads from the old files.
 *
 * One pass (Kafka's order):
 * 1. the cleanable range: whole rolled segments below the high watermark whose largest timestamp
 *    is at least `min.compaction.lag.ms` old — nothing above it is read or rewritten;
 * 2. the offset map: key → latest offset over the dirty part [firstDirtyOffset, endOffset), at
 *    most `maxMapEntries` keys (a full map ends the pass early: bounded work);
 * 3. every cleanable segment from the log start below `endOffset` is rewritten, grouped into
 *    files no larger than `segment.bytes`, keeping per key only records at or above the map's
 *    offset; tombstones (null value) go once their segment is older than `delete.retention.ms`;
 *    keyless records go (they cannot be compacted; the append path refuses them).
 *
 * Invariants (what must never be removed):
 * - a record is dropped only when a later record of the same key exists below `endOffset`
 *   (or it is an expired tombstone, or keyless);
 * - offsets never move: batches keep baseOffset and lastOffsetDelta, records their deltas;
 * - control batches are kept whole; each producer's last batch keeps at least its header, so
 *   producer state (idempotence, later transactions) rebuilds the same;
 * - a cleaned file ends at exactly the offset its last original segment ended at (its last
 *   batch is kept, as an empty header if need be): start-up knows which segments a `.swap`
 *   file covers from its own base and next offset.
 */
import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs'
import { assert } from '../lib/assert.ts'
import { scanBatchHeaders, scanBatchesVerified, writeFully } from './batch-scan.ts'
import { filterBatch, forEachRecord, type RecordView } from './compacted-batch.ts'
import { baseOffsetOf, isControl, lastOffsetOf, producerIdOf } from './record-batch.ts'
import { INT32_MAX, filenamePrefixFromOffset } from './segment.ts'

export const CLEANED_FILE_SUFFIX = '.cleaned'
export const SWAP_FILE_SUFFIX = '.swap'

/** A rolled (immutable) segment as the cleaner sees it. */
export interface CleanerSegment {
  readonly baseOffset: number
  readonly logPath: string
  /** Bytes of whole batches in the .log (the file is not read past it). */
  readonly size: number
  /** Largest record timestamp (or file mtime when unknown), as retention uses it. */
  readonly largestTimestamp: number
}

export interface CleanerView {
  /** Rolled segments, ascending; the active segment is never given to the cleaner. */
  readonly segments: readonly CleanerSegment[]
  /** Base offset of the active segment: the upper bound of the last rolled one. */
  readonly activeBaseOffset: number
  readonly logStartOffset: number
  readonly highWatermark: number
  /** From `cleaner-offset-checkpoint`; undefined or out of range: the log start. */
  readonly cleanedOffset: number | undefined
}

export interface CleanerConfig {
  readonly minCompactionLagMs: number
  readonly deleteRetentionMs: number
  readonly segmentBytes: number
  /** Most distinct keys one pass maps (Kafka's dedupe buffer, counted in keys). */
  readonly maxMapEntries: number
  /** min.cleanable.dirty.ratio: no pass below it (0 when absent: any dirty segment is cleaned). */
  readonly minCleanableDirtyRatio?: number
}

export interface CleanableRange {
  firstDirtyOffset: number
  /** Cleanable segments: a prefix of `view.segments`. */
  cleanableCount: number
  /** Upper bound of the last cleanable segment (firstDirtyOffset when none). */
  firstUncleanableOffset: number
  cleanBytes: number
  dirtyBytes: number
}

/** Kafka's LogCleanerManager.cleanableOffsets and dirty ratio, at segment granularity. */
export function cleanableRange(view: CleanerView, config: Pick<CleanerConfig, 'minCompactionLagMs'>, now: number): CleanableRange {
  const { segments } = view
  const lastOffset = view.activeBaseOffset
  const checkpoint = view.cleanedOffset
  const firstDirtyOffset = checkpoint === undefined || checkpoint < view.logStartOffset || checkpoint > lastOffset ? view.logStartOffset : checkpoint
  let cleanableCount = 0
  let cleanBytes = 0
  let dirtyBytes = 0
  let firstUncleanableOffset = segments[0]?.baseOffset ?? lastOffset
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const upperBound = segments[i + 1]?.baseOffset ?? lastOffset
    if (upperBound > view.highWatermark || now - segment.largestTimestamp < config.minCompactionLagMs) break
    cleanableCount++
    firstUncleanableOffset = upperBound
    if (upperBound <= firstDirtyOffset) cleanBytes += segment.size
    else dirtyBytes += segment.size
  }
  return { firstDirtyOffset, cleanableCount, firstUncleanableOffset: Math.max(firstUncleanableOffset, firstDirtyOffset), cleanBytes, dirtyBytes }
}

/** dirty / (clean + dirty) bytes of the cleanable range (0 when nothing is cleanable). */
export function dirtyRatio(range: CleanableRange): number {
  const total = range.cleanBytes + range.dirtyBytes
  return total === 0 ? 0 : range.dirtyBytes / total
}

/** One cleaned file and the original segments it replaces (ascending; the first has its base offset). */
export interface CleanedGroup {
  baseOffset: number
  cleanedPath: string
  replaces: number[]
  /** The replaced segments' sizes when cleaned: the swap checks the log did not change meanwhile. */
  sourceSizes: number[]
  size: number
}

export interface CleanResult {
  firstDirtyOffset: number
  /** Everything below it is now clean: the new `cleaner-offset-checkpoint` value. */
  endOffset: number
  groups: CleanedGroup[]
  recordsRead: number
  recordsKept: number
  bytesRead: number
  bytesWritten: number
}

/**
 * Everything one cleaning pass needs, as plain data (structured-clonable): the partition's owner
 * builds it from its rolled segments and a pool thread runs it (`runCleanJob`). The segments are
 * immutable while the job runs; if the owner deletes or truncates one meanwhile, the job fails or
 * its swap is refused, and the owner tells the two apart (PartitionLog.cleanJobStillValid).
 */
export interface CleanJob {
  readonly dir: string
  readonly view: CleanerView
  readonly config: CleanerConfig
  readonly now: number
}

/** Runs a job somewhere (a piscina thread, or inline) and answers its result; rejects when the pass threw. */
export type CleanerRunner = (job: CleanJob) => Promise<CleanResult | null>

/** The runner used when no pool is attached (unit tests, tools): the same work on the calling thread. */
export const inlineCleaner: CleanerRunner = async (job) => runCleanJob(job)

/** The stateless CPU part of a pass (a piscina task, or inline): reads segments, writes `.cleaned` files. */
export function runCleanJob(job: CleanJob): CleanResult | null {
  return cleanLog(job.dir, job.view, job.config, job.now)
}

/** Whether a pass is due: dirty bytes exist and dirty / cleanable bytes reaches min.cleanable.dirty.ratio. */
export function cleaningDue(view: CleanerView, config: CleanerConfig, now: number): boolean {
  const range = cleanableRange(view, config, now)
  return range.dirtyBytes > 0 && dirtyRatio(range) >= (config.minCleanableDirtyRatio ?? 0)
}

/**
 * Runs one cleaning pass; null when there is nothing dirty to clean. Writes and fsyncs `.cleaned`
 * files in `dir`; on an exception every `.cleaned` file of the pass is removed first, so a failed
 * pass leaves the directory as it found it.
 */
export function cleanLog(dir: string, view: CleanerView, config: CleanerConfig, now: number): CleanResult | null {
  assert(config.maxMapEntries >= 1, 'the offset map needs room for at least one key')
  if (!cleaningDue(view, config, now)) return null
  const range = cleanableRange(view, config, now)
  const cleanable = view.segments.slice(0, range.cleanableCount)
  const map = buildOffsetMap(cleanable, range.firstDirtyOffset, range.firstUncleanableOffset, config.maxMapEntries)
  if (map.endOffset <= range.firstDirtyOffset) return null
  const toClean = cleanable.filter((s) => s.baseOffset < map.endOffset)
  const result: CleanResult = {
    firstDirtyOffset: range.firstDirtyOffset, endOffset: map.endOffset, groups: [],
    recordsRead: 0, recordsKept: 0, bytesRead: 0, bytesWritten: 0,
  }
  const facts = scanHeaderFacts(toClean)
  const deleteHorizon = now - config.deleteRetentionMs
  const written: string[] = []
  try {
    for (const group of groupSegments(toClean, view, config.segmentBytes)) {
      written.push(cleanedPathOf(dir, group[0]!.baseOffset))
      result.groups.push(cleanGroup(dir, group, { map, facts, deleteHorizon, result }))
    }
  } catch (err) {
    for (const path of written) rmSync(path, { force: true })
    throw err
  }
  return result
}

/** Removes the `.cleaned` files of a pass whose output will not be swapped in. */
export function discardCleaned(result: CleanResult): void {
  for (const group of result.groups) rmSync(group.cleanedPath, { force: true })
}

function cleanedPathOf(dir: string, baseOffset: number): string {
  return `${dir}/${filenamePrefixFromOffset(baseOffset)}.log${CLEANED_FILE_SUFFIX}`
}

interface OffsetMap {
  latest: Map<string, number>
  /** Offsets below it are covered by the map. */
  endOffset: number
}

/** key → latest offset over the dirty records, stopping at a batch boundary once `maxEntries` keys are mapped. */
function buildOffsetMap(segments: readonly CleanerSegment[], firstDirty: number, uncleanable: number, maxEntries: number): OffsetMap {
  const latest = new Map<string, number>()
  let endOffset = firstDirty
  let full = false
  for (let i = 0; i < segments.length && !full; i++) {
    const segment = segments[i]!
    const upperBound = segments[i + 1]?.baseOffset ?? uncleanable
    if (upperBound <= firstDirty) continue
    forEachBatch(segment, (batch) => {
      if (latest.size >= maxEntries) {
        full = true
        return false
      }
      if (!isControl(batch, 0) && lastOffsetOf(batch, 0) >= firstDirty) {
        forEachRecord(batch, (record) => {
          if (record.key !== null && record.offset >= firstDirty) latest.set(mapKey(record.key), record.offset)
        })
      }
      endOffset = lastOffsetOf(batch, 0) + 1
      return true
    })
    if (!full) endOffset = upperBound
  }
  return { latest, endOffset }
}

const mapKey = (key: Buffer): string => key.toString('latin1') // one char per byte: lossless

interface HeaderFacts {
  /** producer id → last offset of its last batch among the segments being cleaned. */
  producerLastOffset: Map<number, number>
  /** segment base offset → base offset of its last batch. */
  lastBatchBase: Map<number, number>
}

function scanHeaderFacts(segments: readonly CleanerSegment[]): HeaderFacts {
  const producerLastOffset = new Map<number, number>()
  const lastBatchBase = new Map<number, number>()
  for (const segment of segments) {
    const fd = openSync(segment.logPath, 'r')
    try {
      scanBatchHeaders(fd, 0, segment.size, (buf, p) => {
        const producerId = producerIdOf(buf, p)
        if (producerId >= 0) producerLastOffset.set(producerId, lastOffsetOf(buf, p))
        lastBatchBase.set(segment.baseOffset, baseOffsetOf(buf, p))
        return true
      })
    } finally {
      closeSync(fd)
    }
  }
  return { producerLastOffset, lastBatchBase }
}

/** Consecutive segments whose original bytes fit in `segment.bytes` and whose offsets fit int32 relative offsets. */
function groupSegments(segments: readonly CleanerSegment[], view: CleanerView, segmentBytes: number): CleanerSegment[][] {
  const groups: CleanerSegment[][] = []
  let current: CleanerSegment[] = []
  let bytes = 0
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    // `segments` is a prefix of view.segments, so the same index finds the next segment.
    const upperBound = view.segments[i + 1]?.baseOffset ?? view.activeBaseOffset
    const first = current[0]
    if (first !== undefined && (bytes + segment.size > segmentBytes || upperBound - 1 - first.baseOffset > INT32_MAX)) {
      groups.push(current)
      current = []
      bytes = 0
    }
    current.push(segment)
    bytes += segment.size
  }
  if (current.length > 0) groups.push(current)
  return groups
}

interface PassState {
  map: OffsetMap
  facts: HeaderFacts
  deleteHorizon: number
  result: CleanResult
}

function cleanGroup(dir: string, group: readonly CleanerSegment[], state: PassState): CleanedGroup {
  const { map, facts, deleteHorizon, result } = state
  const baseOffset = group[0]!.baseOffset
  const cleanedPath = cleanedPathOf(dir, baseOffset)
  const out = openSync(cleanedPath, 'w')
  let position = 0
  try {
    for (const segment of group) {
      const isLastSegment = segment === group.at(-1)
      const expired = segment.largestTimestamp < deleteHorizon
      const keep = (record: RecordView): boolean => {
        result.recordsRead++
        if (record.key === null) return false
        if (record.offset < map.endOffset) {
          const latest = map.latest.get(mapKey(record.key))
          if (latest !== undefined && record.offset < latest) return false
          if (record.isTombstone && expired) return false
        }
        result.recordsKept++
        return true
      }
      forEachBatch(segment, (batch) => {
        let kept: Buffer | null = batch
        if (!isControl(batch, 0)) {
          const producerId = producerIdOf(batch, 0)
          const keepEmpty = (producerId >= 0 && facts.producerLastOffset.get(producerId) === lastOffsetOf(batch, 0)) ||
            (isLastSegment && facts.lastBatchBase.get(segment.baseOffset) === baseOffsetOf(batch, 0))
          kept = filterBatch(batch, keep, keepEmpty)
        }
        if (kept !== null) {
          writeFully(out, kept, 0, kept.length, position)
          position += kept.length
        }
        return true
      })
      result.bytesRead += segment.size
    }
    fsyncSync(out)
  } finally {
    closeSync(out)
  }
  result.bytesWritten += position
  return { baseOffset, cleanedPath, replaces: group.map((s) => s.baseOffset), sourceSizes: group.map((s) => s.size), size: position }
}

/**
 * Whole, CRC-checked batches of a segment, each as a Buffer holding just that batch (valid only
 * during the call). A damaged segment throws: a cleaned file must never be shorter than its
 * source for any other reason than dropped records.
 */
function forEachBatch(segment: CleanerSegment, visit: (batch: Buffer) => boolean): void {
  const fd = openSync(segment.logPath, 'r')
  try {
    let stopped = false
    const scan = scanBatchesVerified(fd, 0, segment.size, (buf, p, _filePos, size) => {
      if (visit(buf.subarray(p, p + size))) return true
      stopped = true
      return false
    })
    if (!stopped && scan.validEnd !== segment.size) {
      throw new Error(`${segment.logPath} is damaged at byte ${scan.validEnd} (${scan.reason ?? 'unknown'}); not cleaning it`)
    }
  } finally {
    closeSync(fd)
  }
}
