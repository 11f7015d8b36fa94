/**
 * The broker's view of its log directory: `meta.properties` (written at first start; a
 * mismatching node.id or cluster.id is refused), the clean-shutdown marker, and the offset
 * checkpoint files (recovery points, high watermarks, log start offsets) read at start-up and
 * written by the CheckpointWriter.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomUuid } from '../protocol/primitives/uuid.ts'
import { readOffsetCheckpoint, writeFileAtomically, writeOffsetCheckpoint, type OffsetCheckpointEntry } from '../storage/checkpoint-file.ts'
import type { StartupCheckpoints } from './replica-service.ts'

const META = 'meta.properties'
const CLEAN_SHUTDOWN = '.kafka_cleanshutdown'
const RECOVERY = 'recovery-point-offset-checkpoint'
const REPLICATION = 'replication-offset-checkpoint'
const LOG_START = 'log-start-offset-checkpoint'

export class LogDirError extends Error {
  override name = 'LogDirError'
}

export class LogDirState {
  readonly path: string
  readonly clusterId: string
  readonly cleanShutdown: boolean

  private constructor(path: string, clusterId: string, cleanShutdown: boolean) {
    this.path = path
    this.clusterId = clusterId
    this.cleanShutdown = cleanShutdown
  }

  /** Opens (formatting on first start) the log dir; removes the clean-shutdown marker, noting whether it was there. */
  static open(path: string, o: { nodeId: number; clusterId: string | null }): LogDirState {
    mkdirSync(path, { recursive: true })
    const metaPath = join(path, META)
    let clusterId: string
    if (existsSync(metaPath)) {
      const props = new Map(readFileSync(metaPath, 'utf8').split('\n').filter((l) => l.includes('=') && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()] as const))
      const nodeId = Number(props.get('node.id') ?? props.get('broker.id'))
      clusterId = props.get('cluster.id') ?? ''
      if (nodeId !== o.nodeId) throw new LogDirError(`${metaPath}: node.id is ${nodeId}, but this broker is configured with node.id=${o.nodeId}`)
      if (o.clusterId && clusterId !== o.clusterId) throw new LogDirError(`${metaPath}: cluster.id is ${clusterId}, but the configuration says ${o.clusterId}`)
    } else {
      clusterId = o.clusterId ?? randomUuid()
      // A fresh directory is formatted as a one-voter quorum's storage (KIP-631 requires formatting; a single node formats itself).
      writeFileAtomically(metaPath, `#\n#Written by Samsa at first start\nversion=1\ncluster.id=${clusterId}\nnode.id=${o.nodeId}\ndirectory.id=${randomUuid()}\n`)
    }
    const markerPath = join(path, CLEAN_SHUTDOWN)
    const clean = existsSync(markerPath)
    if (clean) rmSync(markerPath)
    return new LogDirState(path, clusterId, clean)
  }

  startupCheckpoints(): StartupCheckpoints {
    const load = (name: string): Map<string, number> => {
      const file = join(this.path, name)
      if (!existsSync(file)) return new Map()
      const r = readOffsetCheckpoint(file)
      if ('error' in r) return new Map()
      return new Map(r.entries.map((e) => [`${e.topic}\u0000${e.partition}`, e.offset]))
    }
    const recovery = load(RECOVERY)
    const logStart = load(LOG_START)
    return {
      cleanShutdown: this.cleanShutdown,
      recoveryPoint: (topic, partition) => recovery.get(`${topic}\u0000${partition}`) ?? 0,
      logStartOffset: (topic, partition) => logStart.get(`${topic}\u0000${partition}`),
    }
  }

  writeCheckpoints(c: { recoveryPoints: OffsetCheckpointEntry[]; highWatermarks: OffsetCheckpointEntry[]; logStartOffsets: OffsetCheckpointEntry[] }): void {
    writeOffsetCheckpoint(join(this.path, RECOVERY), c.recoveryPoints)
    writeOffsetCheckpoint(join(this.path, REPLICATION), c.highWatermarks)
    writeOffsetCheckpoint(join(this.path, LOG_START), c.logStartOffsets)
  }

  /** Marks a clean shutdown: every partition was closed (flushed) before this is called. */
  markCleanShutdown(): void {
    writeFileSync(join(this.path, CLEAN_SHUTDOWN), JSON.stringify({ version: 0, brokerEpoch: -1 }))
  }
}
