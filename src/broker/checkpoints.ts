/**
 * Writes the log dir's offset checkpoint files from the shared watermark table: the recovery
 * point (what is known fsynced), the high watermark (replication-offset-checkpoint) and the
 * log start offset, every `log.flush.offset.checkpoint.interval.ms` and at clean shutdown; and
 * `cleaner-offset-checkpoint` (how far each compacted partition is cleaned) also right after each
 * compaction pass. Only hosted partitions are written, so a deleted partition's entries go with
 * the next write.
 */
import type { Logger } from '../lib/logger.ts'
import { setLongInterval, type LongTimer } from '../lib/long-timer.ts'
import type { LogDir } from '../storage/log-dir.ts'
import type { ReplicaService } from './replica-service.ts'

export class CheckpointWriter {
  readonly #logDir: LogDir
  readonly #replicas: ReplicaService
  readonly #log: Logger
  readonly #timer: LongTimer

  constructor(logDir: LogDir, replicas: ReplicaService, intervalMs: number, log: Logger) {
    this.#logDir = logDir
    this.#replicas = replicas
    this.#log = log
    this.#timer = setLongInterval(() => this.writeNow(), intervalMs)
  }

  writeNow(): void {
    const recovery = []
    const replication = []
    const logStart = []
    for (const p of this.#replicas.hosted()) {
      const w = this.#replicas.watermarks(p)
      recovery.push({ topic: p.topic, partition: p.partition, offset: w.recoveryPoint })
      replication.push({ topic: p.topic, partition: p.partition, offset: w.highWatermark })
      logStart.push({ topic: p.topic, partition: p.partition, offset: w.logStartOffset })
    }
    try {
      this.#logDir.writeCheckpoints({ recoveryPoints: recovery, highWatermarks: replication, logStartOffsets: logStart, cleanerOffsets: this.#cleanerOffsets() })
    } catch (err) {
      this.#log.error({ err }, 'writing offset checkpoints failed')
    }
  }

  /** After a compaction pass: only `cleaner-offset-checkpoint` (Kafka writes it after each clean). */
  writeCleanerCheckpoint(): void {
    try {
      this.#logDir.writeCheckpoints({ cleanerOffsets: this.#cleanerOffsets() })
    } catch (err) {
      this.#log.error({ err }, 'writing cleaner-offset-checkpoint failed')
    }
  }

  #cleanerOffsets(): { topic: string; partition: number; offset: number }[] {
    const entries = []
    for (const p of this.#replicas.hosted()) {
      const offset = this.#replicas.watermarks(p).cleanerCheckpoint
      if (offset >= 0) entries.push({ topic: p.topic, partition: p.partition, offset })
    }
    return entries
  }

  stop(): void {
    this.#timer.cancel()
  }
}
