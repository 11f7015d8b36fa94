/**
 * Kafka's checkpoint files, written atomically.
 *
 * Offset checkpoints (`recovery-point-offset-checkpoint`, `replication-offset-checkpoint`,
 * `log-start-offset-checkpoint`) are text: `0\n<N>\n<topic> <partition> <offset>\n…`
 * (OffsetCheckpointFile). Every write goes to `<file>.tmp`, is fsynced, renamed over the
 * file and the directory is fsynced, so a crash leaves either the old or the new content.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { assertSafeInteger } from '../lib/assert.ts'

/**
 * Writes `content` to `path` so that readers see all or nothing — durably unless `durable` is
 * false, in which case the caller fsyncs the file and its directory later (fsyncFile +
 * fsyncDirectory), e.g. at a partition's first flush.
 */
export function writeFileAtomically(path: string, content: string | Buffer, durable = true): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', 0o644)
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    let done = 0
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done)
    if (durable) fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  if (durable) fsyncDirectory(dirname(path))
}

/** fsyncs a file written earlier with `durable = false`. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Makes a rename or a file creation in `dir` durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export interface OffsetCheckpointEntry {
  topic: string
  partition: number
  offset: number
}

export type CheckpointReadResult = { entries: OffsetCheckpointEntry[] } | { error: 'malformed'; message: string }

const CHECKPOINT_VERSION = 0

export function formatOffsetCheckpoint(entries: readonly OffsetCheckpointEntry[]): string {
  let text = `${CHECKPOINT_VERSION}\n${entries.length}\n`
  for (const e of entries) {
    assertSafeInteger(e.offset, `checkpoint offset of ${e.topic}-${e.partition}`)
    text += `${e.topic} ${e.partition} ${e.offset}\n`
  }
  return text
}

export function writeOffsetCheckpoint(path: string, entries: readonly OffsetCheckpointEntry[]): void {
  writeFileAtomically(path, formatOffsetCheckpoint(entries))
}

/** A missing file is an empty checkpoint (first start); a malformed one is an error value. */
export function readOffsetCheckpoint(path: string): CheckpointReadResult {
  if (!existsSync(path)) return { entries: [] }
  return parseOffsetCheckpoint(readFileSync(path, 'utf8'))
}

export function parseOffsetCheckpoint(text: string): CheckpointReadResult {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  if (lines[0] !== String(CHECKPOINT_VERSION)) return { error: 'malformed', message: `unsupported checkpoint version '${lines[0]}'` }
  const count = Number(lines[1])
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) {
    return { error: 'malformed', message: `expected ${lines[1]} entries, found ${lines.length - 2}` }
  }
  const entries: OffsetCheckpointEntry[] = []
  for (let i = 2; i < lines.length; i++) {
    // Topic names cannot contain spaces, so the last two fields are unambiguous.
    const parts = lines[i]!.split(' ')
    const offset = Number(parts[2])
    const partition = Number(parts[1])
    if (parts.length !== 3 || parts[0] === '' || !Number.isInteger(partition) || partition < 0 || !Number.isSafeInteger(offset)) {
      return { error: 'malformed', message: `malformed checkpoint line '${lines[i]}'` }
    }
    entries.push({ topic: parts[0]!, partition, offset })
  }
  return { entries }
}
