/**
 * One `log.dirs` entry, as the main thread sees it: identity (`meta.properties`), the lock,
 * the clean-shutdown marker, the list of partition directories and the three offset checkpoint
 * files. Shard workers never use this class; they open partitions with PartitionLog.
 *
 * Start-up: open() takes `.lock`, writes or checks `meta.properties` (a different cluster.id or
 * node.id is refused), and consumes `.kafka_cleanshutdown` (present = the last stop was clean,
 * so partitions may skip recovery). close() writes the marker back; call it only after every
 * partition was closed cleanly and the checkpoints were written.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync, constants } from 'node:fs'
import { resolve } from 'node:path'
import {
  fsyncDirectory, readOffsetCheckpoint, writeFileAtomically, writeOffsetCheckpoint, type OffsetCheckpointEntry,
} from './checkpoint-file.ts'

export const META_PROPERTIES = 'meta.properties'
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown'
export const LOCK_FILE = '.lock'
export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint'
export const REPLICATION_CHECKPOINT = 'replication-offset-checkpoint'
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint'
/** How far each compacted partition is cleaned (Kafka's LogCleanerManager file, same format). */
export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint'

export interface LogDirLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export interface LogDirOptions {
  nodeId: number
  /** When given, must match a stored cluster.id; when omitted the stored one is used (or a new one made on first start). */
  clusterId?: string
  logger?: LogDirLogger
}

export interface StartupCheckpoints {
  readonly cleanShutdown: boolean
  recoveryPoint(topic: string, partition: number): number
  logStartOffset(topic: string, partition: number): number | undefined
  highWatermark(topic: string, partition: number): number | undefined
  /** The cleaner-offset-checkpoint entry: compaction resumes there instead of recleaning the whole log. */
  cleanerCheckpoint(topic: string, partition: number): number | undefined
}

export interface PartitionDirEntry {
  topic: string
  partition: number
  dir: string
}

/** Kafka's Uuid text form: 16 random bytes, base64url without padding (22 characters). */
export function randomKafkaUuid(): string {
  return randomBytes(16).toString('base64url')
}

/** Log dirs held by this process (a second open of the same dir in-process is refused too). */
const heldInProcess = new Set<string>()

const key = (topic: string, partition: number): string => `${topic} ${partition}`

export class LogDir {
  readonly path: string
  readonly nodeId: number
  readonly clusterId: string
  readonly directoryId: string
  /** Whether the previous stop left the clean-shutdown marker. */
  readonly cleanShutdown: boolean
  private readonly logger: LogDirLogger | undefined
  private closed = false

  private constructor(path: string, nodeId: number, clusterId: string, directoryId: string, cleanShutdown: boolean, logger: LogDirLogger | undefined) {
    this.path = path
    this.nodeId = nodeId
    this.clusterId = clusterId
    this.directoryId = directoryId
    this.cleanShutdown = cleanShutdown
    this.logger = logger
  }

  /** Throws when the directory is locked by a live process or belongs to another cluster or node. */
  static open(path: string, o: LogDirOptions): LogDir {
    const dir = resolve(path)
    try {
      mkdirSync(dir, { recursive: true })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.code === 'EACCES' ? 'permission denied' : e.message
      throw new Error(`log.dirs: cannot create the log directory ${dir}: ${why}`, { cause: err })
    }
    acquireLock(dir)
    try {
      const formatted = !existsSync(`${dir}/${META_PROPERTIES}`)
      const meta = readOrWriteMetaProperties(dir, o)
      const markerPath = `${dir}/${CLEAN_SHUTDOWN_FILE}`
      const cleanShutdown = existsSync(markerPath)
      if (cleanShutdown) {
        // From here until close() the directory is "in use": a crash must force recovery.
        rmSync(markerPath)
        fsyncDirectory(dir)
      }
      if (formatted) o.logger?.info({ logDir: dir, clusterId: meta.clusterId, directoryId: meta.directoryId }, 'log dir formatted (first start)')
      else o.logger?.info({ logDir: dir, cleanShutdown, clusterId: meta.clusterId, directoryId: meta.directoryId }, 'log dir opened')
      return new LogDir(dir, o.nodeId, meta.clusterId, meta.directoryId, cleanShutdown, o.logger)
    } catch (err) {
      releaseLock(dir)
      throw err
    }
  }

  /** Partition directories `<topic>-<n>`; names being deleted (`-delete`), future/stray dirs and hidden files are skipped. */
  listPartitions(): PartitionDirEntry[] {
    const found: PartitionDirEntry[] = []
    for (const name of readdirSync(this.path)) {
      if (name.startsWith('.') || name.endsWith('-delete') || name.endsWith('-future') || name.endsWith('-stray')) continue
      const m = /^(.+)-(\d+)$/.exec(name)
      if (m === null || !statSync(`${this.path}/${name}`).isDirectory()) continue
      found.push({ topic: m[1]!, partition: Number(m[2]), dir: `${this.path}/${name}` })
    }
    return found.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  }

  /**
   * Directories of deleted partitions, `<topic>-<n>.<32 hex>-delete` (Kafka's LocalLog.logDeleteDirName),
   * left by DeleteTopics and not yet removed — also those a previous run did not get to.
   */
  listDeletedPartitionDirs(): string[] {
    const found: string[] = []
    for (const name of readdirSync(this.path)) {
      if (!/^.+-\d+\.[0-9a-f]{32}-delete$/.test(name)) continue
      if (statSync(`${this.path}/${name}`).isDirectory()) found.push(`${this.path}/${name}`)
    }
    return found.sort()
  }

  /** Reads the checkpoints once; a malformed file is logged and treated as empty (full recovery is always safe). */
  startupCheckpoints(cleanShutdown = this.cleanShutdown): StartupCheckpoints {
    const recovery = this.readCheckpointMap(RECOVERY_POINT_CHECKPOINT)
    const logStart = this.readCheckpointMap(LOG_START_OFFSET_CHECKPOINT)
    const hw = this.readCheckpointMap(REPLICATION_CHECKPOINT)
    const cleaned = this.readCheckpointMap(CLEANER_OFFSET_CHECKPOINT)
    return {
      cleanShutdown,
      recoveryPoint: (topic, partition) => recovery.get(key(topic, partition)) ?? 0,
      logStartOffset: (topic, partition) => logStart.get(key(topic, partition)),
      highWatermark: (topic, partition) => hw.get(key(topic, partition)),
      cleanerCheckpoint: (topic, partition) => cleaned.get(key(topic, partition)),
    }
  }

  readCheckpointMap(file: string): Map<string, number> {
    const result = readOffsetCheckpoint(`${this.path}/${file}`)
    const map = new Map<string, number>()
    if ('error' in result) {
      this.logger?.warn({ file: `${this.path}/${file}`, reason: result.message }, 'ignoring a malformed checkpoint file')
      return map
    }
    for (const e of result.entries) map.set(key(e.topic, e.partition), e.offset)
    return map
  }

  writeCheckpoints(c: {
    recoveryPoints?: readonly OffsetCheckpointEntry[]; highWatermarks?: readonly OffsetCheckpointEntry[]
    logStartOffsets?: readonly OffsetCheckpointEntry[]; cleanerOffsets?: readonly OffsetCheckpointEntry[]
  }): void {
    if (c.recoveryPoints) writeOffsetCheckpoint(`${this.path}/${RECOVERY_POINT_CHECKPOINT}`, c.recoveryPoints)
    if (c.highWatermarks) writeOffsetCheckpoint(`${this.path}/${REPLICATION_CHECKPOINT}`, c.highWatermarks)
    if (c.logStartOffsets) writeOffsetCheckpoint(`${this.path}/${LOG_START_OFFSET_CHECKPOINT}`, c.logStartOffsets)
    if (c.cleanerOffsets) writeOffsetCheckpoint(`${this.path}/${CLEANER_OFFSET_CHECKPOINT}`, c.cleanerOffsets)
  }

  /** Releases the lock; with `clean` (the default) writes the clean-shutdown marker first. */
  close(o: { clean?: boolean; brokerEpoch?: number } = {}): void {
    if (this.closed) return
    this.closed = true
    if (o.clean ?? true) writeFileAtomically(`${this.path}/${CLEAN_SHUTDOWN_FILE}`, JSON.stringify({ version: 0, brokerEpoch: o.brokerEpoch ?? -1 }))
    releaseLock(this.path)
  }
}

function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const eq = line.indexOf('=')
    if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return props
}

function readOrWriteMetaProperties(dir: string, o: LogDirOptions): { clusterId: string; directoryId: string } {
  const path = `${dir}/${META_PROPERTIES}`
  if (!existsSync(path)) {
    const clusterId = o.clusterId ?? randomKafkaUuid()
    const directoryId = randomKafkaUuid()
    const text = `#\n#${new Date().toUTCString()}\ncluster.id=${clusterId}\ndirectory.id=${directoryId}\nnode.id=${o.nodeId}\nversion=1\n`
    writeFileAtomically(path, text)
    return { clusterId, directoryId }
  }
  const props = parseProperties(readFileSync(path, 'utf8'))
  const version = props.get('version')
  const storedNode = props.get('node.id') ?? props.get('broker.id')
  const storedCluster = props.get('cluster.id')
  if ((version !== '0' && version !== '1') || storedNode === undefined || storedCluster === undefined) {
    throw new Error(`${path} is malformed (version=${version}, node.id=${storedNode}, cluster.id=${storedCluster})`)
  }
  if (Number(storedNode) !== o.nodeId) {
    throw new Error(`${path} belongs to node.id ${storedNode}, but this broker is node.id ${o.nodeId}; refusing to use this log dir`)
  }
  if (o.clusterId !== undefined && storedCluster !== o.clusterId) {
    throw new Error(`${path} belongs to cluster ${storedCluster}, but this broker is configured for cluster ${o.clusterId}; refusing to use this log dir`)
  }
  let directoryId = props.get('directory.id')
  if (directoryId === undefined) {
    // A v0 or pre-KIP-858 directory: give it an id so later starts see a stable one.
    directoryId = randomKafkaUuid()
    writeFileAtomically(path, `#\n#${new Date().toUTCString()}\ncluster.id=${storedCluster}\ndirectory.id=${directoryId}\nnode.id=${o.nodeId}\nversion=1\n`)
  }
  return { clusterId: storedCluster, directoryId }
}

/**
 * `.lock` holds the owner's pid. Node has no flock, so a lock whose pid is no longer alive
 * (a kill -9) is stale and taken over; a live pid — or this process, for a dir it already
 * holds — is refused.
 */
function acquireLock(dir: string): void {
  const path = `${dir}/${LOCK_FILE}`
  if (heldInProcess.has(dir)) throw new Error(`log dir ${dir} is already open in this process`)
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8').trim())
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new Error(`log dir ${dir} is locked by process ${pid} (${path}); is another broker using it?`)
    }
    rmSync(path, { force: true })
  }
  const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644)
  try {
    writeSync(fd, `${process.pid}\n`)
  } finally {
    closeSync(fd)
  }
  heldInProcess.add(dir)
}

function releaseLock(dir: string): void {
  heldInProcess.delete(dir)
  rmSync(`${dir}/${LOCK_FILE}`, { force: true })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
