/**
 * Swapping cleaned files in for the segments they replace (Kafka's LocalLog.replaceSegments),
 * done by the partition's owner — the only code that renames or deletes its segment files — and
 * completing a swap a crash interrupted, at start-up (Kafka's LogLoader does the same).
 *
 * Steps, each durable (directory fsync) before the next:
 * 1. `<base>.log.cleaned` → `<base>.log.swap`: from here on the cleaned data is authoritative;
 * 2. the replaced segments go: fds closed, `.index`/`.timeindex` removed, then the `.log`;
 * 3. `<base>.log.swap` → `<base>.log`, and its indexes are rebuilt from it.
 *
 * Crash at any point: before 1 the `.cleaned` file is discarded and the old segments are whole;
 * after 1 the `.swap` file replaces every segment whose base offset lies in [swap base, swap
 * next offset) — the cleaner guarantees the cleaned file ends at exactly the offset its last
 * segment ended at — so nothing is lost (the swap holds every kept record) and nothing is
 * duplicated (no old segment in its range survives).
 *
 * Readers: a read copies its bytes out synchronously (`LogSegment.read`), so no reader holds a
 * segment across a swap. The fd cache is keyed by path, so the old segments' fds are closed
 * before their paths are reused: a lookup can never pair the new `.log` with an old index.
 */
import { closeSync, fstatSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { assert } from '../lib/assert.ts'
import { scanBatchHeaders } from './batch-scan.ts'
import { fsyncDirectory } from './checkpoint-file.ts'
import type { FileHandleCache } from './file-handles.ts'
import {
  CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX, cleanLog, type CleanResult, type CleanedGroup, type CleanerConfig, type CleanerView,
} from './log-cleaner.ts'
import { segmentLargestTimestamp } from './log-retention.ts'
import { lastOffsetOf } from './record-batch.ts'
import { LogSegment, filenamePrefixFromOffset } from './segment.ts'

/** Where a test may stop a swap, to play a crash after that step. */
export type SwapStep = 'cleaned' | 'renamed_to_swap' | 'first_old_removed' | 'old_removed' | 'renamed_to_log'

export interface SwapOptions {
  dir: string
  /** The log's segment list; the replaced run is spliced out and the new segment put in its place. */
  segments: LogSegment[]
  group: CleanedGroup
  fds: FileHandleCache
  indexIntervalBytes: number
  now: number
  /** Tests only: return right after this step, as a crash would leave things. */
  stopAfter?: SwapStep
}

const segmentPaths = (dir: string, base: number): string[] => {
  const prefix = `${dir}/${filenamePrefixFromOffset(base)}`
  return [`${prefix}.index`, `${prefix}.timeindex`, `${prefix}.log`] // the .log last: indexes never outlive it
}

/**
 * Replaces the group's segments by its cleaned file. Returns the new segment, or null when the
 * log changed meanwhile (retention or a truncation removed one of the segments): the cleaned
 * file is then discarded and the log is left as it is.
 */
export function swapCleanedSegments(o: SwapOptions): LogSegment | null {
  const { dir, segments, group } = o
  const first = segments.findIndex((s) => s.baseOffset === group.baseOffset)
  const run = first < 0 ? [] : segments.slice(first, first + group.replaces.length)
  const intact = run.length === group.replaces.length && first + run.length < segments.length &&
    run.every((s, i) => s.baseOffset === group.replaces[i] && s.size === group.sourceSizes[i])
  if (!intact) {
    rmSync(group.cleanedPath, { force: true })
    return null
  }
  const logPath = `${dir}/${filenamePrefixFromOffset(group.baseOffset)}.log`
  const swapPath = logPath + SWAP_FILE_SUFFIX
  assert(group.cleanedPath === logPath + CLEANED_FILE_SUFFIX, `unexpected cleaned file ${group.cleanedPath}`)
  if (o.stopAfter === 'cleaned') return null
  renameSync(group.cleanedPath, swapPath)
  fsyncDirectory(dir)
  if (o.stopAfter === 'renamed_to_swap') return null
  for (const [i, segment] of run.entries()) {
    segment.close()
    for (const path of segmentPaths(dir, segment.baseOffset)) rmSync(path, { force: true })
    if (i === 0 && o.stopAfter === 'first_old_removed') return null
  }
  fsyncDirectory(dir)
  if (o.stopAfter === 'old_removed') return null
  renameSync(swapPath, logPath)
  fsyncDirectory(dir)
  if (o.stopAfter === 'renamed_to_log') return null
  const segment = LogSegment.existing(dir, group.baseOffset, o.fds, o.indexIntervalBytes, group.size)
  segment.recover(() => true, false, o.now)
  assert(segment.size === group.size, `swapped segment ${logPath} has ${segment.size} intact bytes of ${group.size}`)
  segments.splice(first, run.length, segment)
  return segment
}

/**
 * Start-up: completes every swap a crash interrupted (a `<base>.log.swap` replaces the segments
 * whose base offsets lie in [base, its next offset)) and removes `.cleaned` leftovers. Returns
 * the base offsets of swapped-in segments: their indexes must be rebuilt.
 */
export function completeInterruptedSwaps(dir: string, warn?: (obj: object, msg: string) => void): number[] {
  const names = readdirSync(dir)
  const swapped: number[] = []
  const swaps = names.map((n) => /^(\d{20})\.log\.swap$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b)
  for (const base of swaps) {
    const swapPath = `${dir}/${filenamePrefixFromOffset(base)}.log${SWAP_FILE_SUFFIX}`
    const next = nextOffsetOf(swapPath)
    if (next === null) {
      // A cleaned file always ends with a batch; an empty one cannot say what it replaces.
      warn?.({ dir, swapPath }, 'discarding an empty .swap file')
      rmSync(swapPath, { force: true })
      continue
    }
    for (const name of readdirSync(dir)) {
      const m = /^(\d{20})\.log$/.exec(name)
      const covered = m !== null && Number(m[1]) >= base && Number(m[1]) < next
      if (covered) for (const path of segmentPaths(dir, Number(m[1]))) rmSync(path, { force: true })
    }
    for (const path of segmentPaths(dir, base).slice(0, 2)) rmSync(path, { force: true })
    renameSync(swapPath, `${dir}/${filenamePrefixFromOffset(base)}.log`)
    swapped.push(base)
    warn?.({ dir, base, nextOffset: next }, 'completed an interrupted segment swap')
  }
  for (const name of names) if (name.endsWith(CLEANED_FILE_SUFFIX)) rmSync(`${dir}/${name}`, { force: true })
  if (swaps.length > 0) fsyncDirectory(dir)
  return swapped
}

/** The offset after the last whole batch of a file; null when it holds none. */
function nextOffsetOf(path: string): number | null {
  const fd = openSync(path, 'r')
  try {
    let next: number | null = null
    scanBatchHeaders(fd, 0, fstatSync(fd).size, (buf, p) => {
      next = lastOffsetOf(buf, p) + 1
      return true
    })
    return next
  } finally {
    closeSync(fd)
  }
}

export interface CleanPassOptions {
  dir: string
  segments: LogSegment[]
  fds: FileHandleCache
  indexIntervalBytes: number
  logStartOffset: number
  highWatermark: number
  /** The partition's `cleaner-offset-checkpoint` entry, if any. */
  cleanedOffset: number | undefined
  config: CleanerConfig
  now: number
  stopAfter?: SwapStep
}

/** What the cleaner may read: the rolled segments (never the active one), as plain data. */
export function cleanerViewOf(segments: readonly LogSegment[], o: Pick<CleanPassOptions, 'logStartOffset' | 'highWatermark' | 'cleanedOffset'>): CleanerView {
  const rolled = segments.slice(0, -1)
  return {
    segments: rolled.map((s) => ({ baseOffset: s.baseOffset, logPath: s.logPath, size: s.size, largestTimestamp: segmentLargestTimestamp(s) })),
    activeBaseOffset: segments.at(-1)!.baseOffset,
    logStartOffset: o.logStartOffset, highWatermark: o.highWatermark, cleanedOffset: o.cleanedOffset,
  }
}

/**
 * Swaps every cleaned file of a pass in, in order. False when the log changed under the pass:
 * the groups not yet swapped are discarded and the checkpoint must not move (the swapped ones
 * are complete and correct on their own).
 */
export function swapAll(o: Omit<SwapOptions, 'group'>, result: CleanResult): boolean {
  let complete = true
  for (const group of result.groups) {
    if (!complete) {
      rmSync(group.cleanedPath, { force: true })
      continue
    }
    if (swapCleanedSegments({ ...o, group }) === null) complete = false
  }
  return complete
}

/** One whole pass, inline in the owner: clean the rolled segments, then swap every cleaned file in. */
export function cleanAndSwap(o: CleanPassOptions): CleanResult | null {
  const result = cleanLog(o.dir, cleanerViewOf(o.segments, o), o.config, o.now)
  if (result === null) return null
  const complete = swapAll({
    dir: o.dir, segments: o.segments, fds: o.fds, indexIntervalBytes: o.indexIntervalBytes, now: o.now,
    ...(o.stopAfter === undefined ? {} : { stopAfter: o.stopAfter }),
  }, result)
  return complete ? result : null
}
