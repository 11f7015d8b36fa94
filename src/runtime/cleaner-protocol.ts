/**
 * Messages on a shard's cleaner port: the shard asks the main thread to run a compaction job on
 * the process's piscina pool, and says when a pass was swapped in (the broker then writes
 * `cleaner-offset-checkpoint`). Only plain data crosses: jobs name files, never hold them.
 */
import type { CleanJob, CleanResult } from '../storage/log-cleaner.ts'

export type ToCleanerRelay =
  | { readonly t: 'run'; readonly id: number; readonly job: CleanJob }
  /** A pass was swapped in and its partition's new checkpoint published in the watermark table. */
  | { readonly t: 'cleaned' }

export type FromCleanerRelay =
  | { readonly t: 'result'; readonly id: number; readonly result: CleanResult | null }
  | { readonly t: 'failed'; readonly id: number; readonly message: string }
