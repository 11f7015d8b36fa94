/**
 * The coordinator actor's view of __consumer_offsets: records are encoded into one batch here
 * (on the coordinator's thread), and the batch is handed to the network thread's group-log
 * actor, which appends it through the partition's produce path and answers once it is below
 * the high watermark. Loading reads raw batches back the same way and decodes them here.
 *
 * One batch per coordinator write keeps a commit of many partitions atomic.
 */
import type { Transferable } from 'node:worker_threads'
import type { Logger } from '../lib/logger.ts'
import type { Router } from '../router/router.ts'
import { RouterError } from '../router/envelope.ts'
import { buildRecordBatch } from '../storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../storage/record-batch-reader.ts'
import { GROUP_LOG_ACTOR, type GroupLogCall, type GroupLogReplies } from './actor-protocol.ts'
import type { GroupLog, GroupRecord } from './context.ts'
import type { CoordinatorError } from './errors.ts'
import { decodeGroupRecord, encodeGroupRecord } from './records.ts'

/** A write waits this long for its append and high watermark (the network thread's own limit is 30 s). */
const CALL_TIMEOUT_MS = 35_000

export class GroupLogClient implements GroupLog {
  readonly #router: Router
  readonly #logger: Logger

  constructor(router: Router, logger: Logger) {
    this.#router = router
    this.#logger = logger
  }

  #ask<K extends GroupLogCall['op']>(call: Extract<GroupLogCall, { op: K }>, transfer?: Transferable[]): Promise<GroupLogReplies[K]> {
    return this.#router.ask<GroupLogReplies[K]>({ node: this.#router.node, actor: GROUP_LOG_ACTOR }, call, { timeoutMs: CALL_TIMEOUT_MS, ...(transfer ? { transfer } : {}) })
  }

  async append(groupId: string, records: readonly GroupRecord[]): Promise<CoordinatorError | null> {
    const batch = buildRecordBatch({ records: records.map(encodeGroupRecord) })
    // A fresh buffer of its own (the builder's output is not pooled): move it, do not copy it.
    const bytes = new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength)
    const transfer = batch.byteOffset === 0 && batch.byteLength === batch.buffer.byteLength ? [batch.buffer as ArrayBuffer] : undefined
    try {
      return await this.#ask({ op: 'append', groupId, batch: bytes }, transfer)
    } catch (err) {
      // The write's fate is unknown (network thread gone or too slow): the client retries after rediscovery.
      this.#logger.warn({ err, groupId }, 'group write did not complete')
      return err instanceof RouterError && err.code === 'timeout' ? 'coordinator_not_available' : 'not_coordinator'
    }
  }

  /** Reads every partition from log start to high watermark, in offset order, into `apply`. */
  async load(apply: (record: GroupRecord) => void): Promise<number> {
    let count = 0
    for (const p of await this.#ask({ op: 'partitions' })) {
      let offset = p.logStartOffset
      while (offset < p.highWatermark) {
        const raw = Buffer.from(await this.#ask({ op: 'read', partition: p.partition, offset }))
        const batches = decodeRecordBatches(raw)
        if (batches.length === 0) break
        for (const batch of batches) {
          if (batch.lastOffset < offset) continue
          if (!batch.isControl) {
            if (batch.compression !== 'none') this.#logger.warn({ partition: p.partition, offset: batch.baseOffset }, 'compressed group records skipped')
            for (const rec of batch.records) {
              if (rec.offset < offset || rec.key === null) continue
              const decoded = decodeGroupRecord(rec.key, rec.value)
              if (decoded) {
                apply(decoded)
                count++
              }
            }
          }
          offset = batch.lastOffset + 1
        }
      }
    }
    return count
  }
}
