/**
 * The leader-epoch cache of one partition and its `leader-epoch-checkpoint` file
 * (text `0\n<count>\n<epoch> <startOffset>\n…`, Kafka's LeaderEpochCheckpointFile).
 *
 * Invariant: epochs and start offsets both strictly increase along the list. Every change
 * is written atomically (temp + fsync + rename + dir fsync) before the caller goes on, so
 * the entry for a new epoch is durable before the first batch of that epoch is appended.
 */
import { existsSync, readFileSync } from 'node:fs'
import { assertSafeInteger } from '../lib/assert.ts'
import { fsyncFile, writeFileAtomically } from './checkpoint-file.ts'

export const UNDEFINED_EPOCH = -1
export const UNDEFINED_EPOCH_OFFSET = -1

export interface EpochEntry {
  epoch: number
  startOffset: number
}

export class LeaderEpochCache {
  readonly path: string
  private entries: EpochEntry[]

  private constructor(path: string, entries: EpochEntry[]) {
    this.path = path
    this.entries = entries
  }

  /** Loads the checkpoint; a missing or malformed file gives an empty cache (recovery rebuilds it from batches). */
  static load(path: string, warn?: (message: string) => void): LeaderEpochCache {
    if (!existsSync(path)) return new LeaderEpochCache(path, [])
    const parsed = parseEpochCheckpoint(readFileSync(path, 'utf8'))
    if (typeof parsed === 'string') {
      warn?.(`ignoring malformed ${path}: ${parsed}`)
      return new LeaderEpochCache(path, [])
    }
    return new LeaderEpochCache(path, parsed)
  }

  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH
  }

  list(): readonly EpochEntry[] {
    return this.entries
  }

  /**
   * Records that `epoch` starts at `startOffset` (Kafka's LeaderEpochFileCache.assign): entries
   * with an epoch >= `epoch` or a start offset >= `startOffset` are dropped first so the list
   * stays monotonic. Returns whether anything changed (and was written).
   */
  assign(epoch: number, startOffset: number): boolean {
    assertSafeInteger(startOffset, 'leader epoch start offset')
    if (epoch < 0) return false
    const latest = this.entries.at(-1)
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return false
    if (latest !== undefined && latest.epoch > epoch && latest.startOffset <= startOffset) return false
    this.entries = this.entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset)
    this.entries.push({ epoch, startOffset })
    this.write()
    return true
  }

  /** Drops entries that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    const kept = this.entries.filter((e) => e.startOffset < endOffset)
    if (kept.length === this.entries.length) return
    this.entries = kept
    this.write()
  }

  /** The log start moved to `startOffset`: older entries go, the one covering it now starts there. */
  truncateFromStart(startOffset: number): void {
    let firstKept = this.entries.findIndex((e) => e.startOffset >= startOffset)
    if (firstKept === -1) firstKept = this.entries.length
    const covering = firstKept > 0 ? this.entries[firstKept - 1]! : undefined
    if (covering === undefined || (covering.startOffset === startOffset && firstKept === 1)) return
    const kept = this.entries.slice(firstKept)
    if (kept[0]?.startOffset !== startOffset) kept.unshift({ epoch: covering.epoch, startOffset })
    this.entries = kept
    this.write()
  }

  /** OffsetForLeaderEpoch: the largest epoch <= `requested` and where it ends (next epoch's start, or the LEO). */
  endOffsetFor(requested: number, logEndOffset: number): { leaderEpoch: number; endOffset: number } {
    const undefinedAnswer = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
    if (requested === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer
    if (requested === this.latestEpoch) return { leaderEpoch: requested, endOffset: logEndOffset }
    const higher = this.entries.findIndex((e) => e.epoch > requested)
    if (higher === -1) return undefinedAnswer
    // No epoch at or below the requested one: its data is gone; answer with the next epoch's start.
    if (higher === 0) return { leaderEpoch: requested, endOffset: this.entries[0]!.startOffset }
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: this.entries[higher]!.startOffset }
  }

  /** The epoch that wrote `offset` (largest entry starting at or before it), or -1. */
  epochForOffset(offset: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.startOffset <= offset) return this.entries[i]!.epoch
    return UNDEFINED_EPOCH
  }

  /**
   * While true, writes skip fsync and leave it to syncDeferred(): a fresh partition defers its
   * first epoch entry to its first flush, together with the data it describes.
   */
  deferSync = false
  #unsynced = false

  private write(): void {
    let text = `0\n${this.entries.length}\n`
    for (const e of this.entries) text += `${e.epoch} ${e.startOffset}\n`
    writeFileAtomically(this.path, text, !this.deferSync)
    if (this.deferSync) this.#unsynced = true
  }

  /** fsyncs a deferred write (the directory is synced by the caller) and ends deferral. */
  syncDeferred(): void {
    if (this.#unsynced) fsyncFile(this.path)
    this.#unsynced = false
    this.deferSync = false
  }
}

function parseEpochCheckpoint(text: string): EpochEntry[] | string {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  if (lines[0] !== '0') return `unsupported version '${lines[0]}'`
  const count = Number(lines[1])
  if (!Number.isInteger(count) || lines.length !== count + 2) return 'entry count does not match'
  const entries: EpochEntry[] = []
  for (const line of lines.slice(2)) {
    const [epochText, offsetText, extra] = line.split(' ')
    const epoch = Number(epochText)
    const startOffset = Number(offsetText)
    if (extra !== undefined || !Number.isInteger(epoch) || !Number.isSafeInteger(startOffset)) return `malformed line '${line}'`
    const prev = entries.at(-1)
    if (prev !== undefined && (epoch <= prev.epoch || startOffset < prev.startOffset)) return 'entries are not monotonic'
    entries.push({ epoch, startOffset })
  }
  return entries
}
