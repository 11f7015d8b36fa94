/**
 * `samsa dump-log --files <segment files>`, as kafka-dump-log.sh (DumpLogSegments):
 *
 * - `.log`: one line per batch (`baseOffset: .. lastOffset: .. count: .. position: .. CreateTime: ..
 *   size: .. magic: 2 compresscodec: .. crc: .. isvalid: ..`), and with --deep-iteration or
 *   --print-data-log one `| offset: ..` line per record (with `key:`/`payload:` for the latter);
 * - `.index`: `offset: N position: P`; `.timeindex`: `timestamp: T offset: O`. With
 *   --verify-index-only every entry is checked against the segment's `.log` and only problems
 *   (and a one-line verdict) are printed.
 *
 * Reads files directly (no broker). Unlike Kafka's tool, a failed verification exits with 1.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Command } from 'commander'
import { decodeBatch } from '../../client/records.ts'
import {
  LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, attributesOf, baseOffsetOf, baseSequenceOf, batchLengthOf, baseTimestampOf,
  compressionOf, crcOf, isControl, isCrcValid, isLogAppendTime, isTransactional, lastOffsetOf, magicOf, maxTimestampOf,
  partitionLeaderEpochOf, producerEpochOf, producerIdOf, recordCountOf, readInt64,
} from '../../storage/record-batch.ts'
import { UsageError, collect, configureTool, intArg, runAction } from '../common.ts'

const TOOL = 'samsa dump-log'

interface DumpFlags {
  files: string[]
  printDataLog: boolean
  verifyIndexOnly: boolean
  indexSanityCheck: boolean
  deepIteration: boolean
  skipRecordMetadata: boolean
  maxBytes: number
  maxMessageSize: number
}

export function registerDumpLog(program: Command): void {
  const cmd = program
    .command('dump-log')
    .description('print the batches and records of log segment files, or check their indexes (as kafka-dump-log.sh)')
    .option('--files <files>', 'REQUIRED: data (.log) and index (.index, .timeindex) files, comma-separated or repeated', collect, [])
    .option('--print-data-log', 'print each record\'s key and value (implies --deep-iteration)', false)
    .option('--verify-index-only', 'check index entries against the .log without printing them', false)
    .option('--index-sanity-check', 'only check that index entries are well-formed and ordered', false)
    .option('--deep-iteration', 'print every record, not just batches', false)
    .option('--skip-record-metadata', 'with --print-data-log: print only keys and values', false)
    .option('--max-bytes <bytes>', 'read at most this many bytes of each .log', intArg('a size in bytes', 1), 2 ** 31 - 1)
    .option('--max-message-size <bytes>', 'largest batch expected', intArg('a size in bytes', 1), 5 * 1024 * 1024)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, (flags: DumpFlags) => {
    const files = flags.files.flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean)
    if (files.length === 0) throw new UsageError('--files is required (e.g. --files data/samsa-logs/my-topic-0/00000000000000000000.log)')
    let problems = 0
    for (const file of files) {
      process.stdout.write(`Dumping ${file}\n`)
      const suffix = file.slice(file.lastIndexOf('.'))
      try {
        switch (suffix) {
          case '.log': problems += dumpLog(file, flags); break
          case '.index': problems += dumpIndex(file, flags); break
          case '.timeindex': problems += dumpTimeIndex(file, flags); break
          default: process.stderr.write(`Ignoring unknown file ${file}\n`)
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
          process.stderr.write(`${TOOL}: cannot read ${e.path ?? file}: ${e.code}\n`)
          problems++
          continue
        }
        throw err
      }
    }
    if (problems > 0) process.exitCode = 1
  }))
}

/** Positional reads of a file, batch by batch. */
class SegmentFile {
  readonly fd: number
  readonly size: number
  constructor(path: string) {
    this.fd = openSync(path, 'r')
    this.size = fstatSync(this.fd).size
  }
  read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - position)))
    let done = 0
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, position + done)
      if (n === 0) break
      done += n
    }
    return buf.subarray(0, done)
  }
  /** The whole batch at `position`, or null when what is there is not a whole v2 batch. */
  batchAt(position: number, end = this.size): Buffer | null {
    if (end - position < RECORD_BATCH_OVERHEAD) return null
    const head = this.read(position, LOG_OVERHEAD)
    const size = LOG_OVERHEAD + batchLengthOf(head, 0)
    if (size < RECORD_BATCH_OVERHEAD || position + size > end) return null
    return this.read(position, size)
  }
  close(): void {
    closeSync(this.fd)
  }
}

const baseOffsetOfFile = (file: string): number => Number(basename(file).split('.')[0])
const siblingLog = (file: string): string => join(dirname(file), `${basename(file).split('.')[0]}.log`)

function dumpLog(file: string, f: DumpFlags): number {
  const seg = new SegmentFile(file)
  const deep = f.deepIteration || f.printDataLog
  const nonConsecutive: [number, number][] = []
  try {
    process.stdout.write(`Log starting offset: ${baseOffsetOfFile(file)}\n`)
    const end = Math.min(seg.size, f.maxBytes)
    let position = 0
    let lastOffset = -1
    let out = ''
    for (;;) {
      const batch = seg.batchAt(position, end)
      if (!batch) break
      out += batchLine(batch, position)
      if (deep) {
        for (const line of recordLines(batch, f, (offset) => {
          if (lastOffset !== -1 && offset !== lastOffset + 1) nonConsecutive.push([lastOffset, offset])
          lastOffset = offset
        })) out += line
      }
      if (out.length > 1 << 16) {
        process.stdout.write(out)
        out = ''
      }
      position += batch.length
    }
    process.stdout.write(out)
    const trailing = seg.size - position
    if (trailing > 0 && f.maxBytes >= seg.size) process.stdout.write(`Found ${trailing} invalid bytes at the end of ${basename(file)}\n`)
  } finally {
    seg.close()
  }
  if (nonConsecutive.length > 0) {
    process.stderr.write(`Non-consecutive offsets in ${file}\n`)
    for (const [a, b] of nonConsecutive) process.stderr.write(`  ${a} is followed by ${b}\n`)
  }
  return 0
}

function batchLine(b: Buffer, position: number): string {
  if (magicOf(b, 0) !== 2) return `offset: ${lastOffsetOf(b, 0)} position: ${position} magic: ${magicOf(b, 0)} (only magic 2 batches are decoded)\n`
  const count = recordCountOf(b, 0)
  const baseSequence = baseSequenceOf(b, 0)
  const lastSequence = baseSequence < 0 ? -1 : (baseSequence + count - 1) % 2 ** 31
  const deleteHorizon = (attributesOf(b, 0) & 0x40) !== 0 ? `OptionalLong[${baseTimestampOf(b, 0)}]` : 'OptionalLong.empty'
  const timestampType = isLogAppendTime(b, 0) ? 'LogAppendTime' : 'CreateTime'
  return `baseOffset: ${baseOffsetOf(b, 0)} lastOffset: ${lastOffsetOf(b, 0)} count: ${count} baseSequence: ${baseSequence}` +
    ` lastSequence: ${lastSequence} producerId: ${producerIdOf(b, 0)} producerEpoch: ${producerEpochOf(b, 0)}` +
    ` partitionLeaderEpoch: ${partitionLeaderEpochOf(b, 0)} isTransactional: ${isTransactional(b, 0)}` +
    ` isControl: ${isControl(b, 0)} deleteHorizonMs: ${deleteHorizon} position: ${position} ${timestampType}: ${maxTimestampOf(b, 0)}` +
    ` size: ${b.length} magic: ${magicOf(b, 0)} compresscodec: ${compressionOf(b, 0) ?? 'unknown'} crc: ${crcOf(b, 0)} isvalid: ${isCrcValid(b, 0)}\n`
}

function recordLines(b: Buffer, f: DumpFlags, onOffset: (offset: number) => void): string[] {
  if (magicOf(b, 0) !== 2) return []
  let decoded
  try {
    decoded = decodeBatch(b, 0)
  } catch (err) {
    return [`| cannot decode the records of this batch: ${(err as Error).message}\n`]
  }
  const timestampType = decoded.logAppendTime ? 'LogAppendTime' : 'CreateTime'
  const lines: string[] = []
  decoded.records.forEach((r, i) => {
    onOffset(r.offset)
    // Kafka's layout: "| offset: ..." then " key: .." and " payload: .." on the same line.
    let line = ''
    let prefix = '| '
    if (!f.skipRecordMetadata) {
      const sequence = decoded.baseSequence < 0 ? -1 : (decoded.baseSequence + i) % 2 ** 31
      line = `${prefix}offset: ${r.offset} ${timestampType}: ${decoded.logAppendTime ? decoded.maxTimestamp : r.timestamp}` +
        ` keySize: ${r.key?.length ?? -1} valueSize: ${r.value?.length ?? -1}` +
        ` sequence: ${sequence} headerKeys: [${r.headers.map((h) => h.key).join(',')}]`
      prefix = ' '
      if (decoded.isControl) line += controlText(r.key, r.value)
    }
    if (f.printDataLog && !decoded.isControl) {
      if (r.key !== null) {
        line += `${prefix}key: ${r.key.toString('utf8')}`
        prefix = ' '
      }
      if (r.value !== null) line += ` payload: ${r.value.toString('utf8')}`
    }
    lines.push(line + '\n')
  })
  return lines
}

function controlText(key: Buffer | null, value: Buffer | null): string {
  if (!key || key.length < 4) return ' controlType: UNKNOWN(-1)'
  const type = key.readInt16BE(2)
  if ((type === 0 || type === 1) && value && value.length >= 6) {
    return ` endTxnMarker: ${type === 0 ? 'ABORT' : 'COMMIT'} coordinatorEpoch: ${value.readInt32BE(2)}`
  }
  const names: Record<number, string> = { 2: 'LEADER_CHANGE', 3: 'SNAPSHOT_HEADER', 4: 'SNAPSHOT_FOOTER', 5: 'KRAFT_VERSION', 6: 'KRAFT_VOTERS' }
  return ` controlType: ${names[type] ?? 'UNKNOWN'}(${type})`
}

/** Entries of an index file: [key, value] pairs (offset index: relative offset, position). */
function readIndex(file: string, entrySize: number): { entries: [number, number][]; partial: number } {
  const seg = new SegmentFile(file)
  try {
    const raw = seg.read(0, seg.size)
    const entries: [number, number][] = []
    for (let pos = 0; pos + entrySize <= raw.length; pos += entrySize) {
      entries.push(entrySize === 8 ? [raw.readInt32BE(pos), raw.readInt32BE(pos + 4)] : [readInt64(raw, pos), raw.readInt32BE(pos + 8)])
    }
    return { entries, partial: raw.length % entrySize }
  } finally {
    seg.close()
  }
}

function dumpIndex(file: string, f: DumpFlags): number {
  const base = baseOffsetOfFile(file)
  const { entries, partial } = readIndex(file, 8)
  if (entries.length === 0) {
    process.stdout.write(`${file} is empty.\n`)
    return 0
  }
  if (f.indexSanityCheck) return sanity(file, entries.map(([k]) => k), partial, 'offset')
  const log = new SegmentFile(siblingLog(file))
  const mismatches: [number, number][] = []
  let out = ''
  try {
    entries.forEach(([relative, position], i) => {
      const offset = base + relative
      if (i > 0 && relative === 0) return // zero-filled tail of a preallocated index (Kafka stops here too)
      const batch = log.batchAt(position)
      const logOffset = batch ? lastOffsetOf(batch, 0) : -1
      if (logOffset !== offset) mismatches.push([offset, logOffset])
      if (!f.verifyIndexOnly) out += `offset: ${offset} position: ${position}\n`
    })
  } finally {
    log.close()
  }
  process.stdout.write(out)
  if (mismatches.length > 0) {
    process.stderr.write(`Mismatches in :${file}\n`)
    for (const [i, l] of mismatches) process.stderr.write(`  Index offset: ${i}, log offset: ${l}\n`)
  }
  if (f.verifyIndexOnly) {
    process.stdout.write(mismatches.length === 0
      ? `${file}: all ${entries.length} index entries match ${siblingLog(file)}\n`
      : `${file}: ${mismatches.length} of ${entries.length} index entries do not match ${siblingLog(file)}\n`)
  }
  return mismatches.length
}

function dumpTimeIndex(file: string, f: DumpFlags): number {
  const base = baseOffsetOfFile(file)
  const { entries, partial } = readIndex(file, 12)
  if (entries.length === 0) {
    process.stdout.write(`${file} is empty.\n`)
    return 0
  }
  if (f.indexSanityCheck) return sanity(file, entries.map(([ts]) => ts), partial, 'timestamp')
  const log = new SegmentFile(siblingLog(file))
  const problems: string[] = []
  let out = ''
  let prev = -1
  try {
    // One pass over the log's batch headers gives each batch's last offset and position.
    const batches: { last: number; position: number }[] = []
    for (let pos = 0; ;) {
      if (log.size - pos < RECORD_BATCH_OVERHEAD) break
      const head = log.read(pos, RECORD_BATCH_OVERHEAD)
      const size = LOG_OVERHEAD + batchLengthOf(head, 0)
      if (size < RECORD_BATCH_OVERHEAD || pos + size > log.size) break
      batches.push({ last: lastOffsetOf(head, 0), position: pos })
      pos += size
    }
    entries.forEach(([timestamp, relative], i) => {
      if (i > 0 && relative === 0 && timestamp === 0) return
      const offset = base + relative
      const found = batches.find((b) => b.last >= offset)
      if (!found || found.last !== offset) {
        problems.push(`Indexed offset: ${offset}, found log offset: ${found ? found.last : -1}`)
      } else {
        const batch = decodeBatch(log.batchAt(found.position)!, 0)
        const max = batch.logAppendTime || batch.records.length === 0 ? batch.maxTimestamp : Math.max(...batch.records.map((r) => r.timestamp))
        if (max !== timestamp) problems.push(`Index timestamp: ${timestamp}, log timestamp: ${max}`)
        if (prev >= timestamp) problems.push(`Index timestamp: ${timestamp}, Previously indexed timestamp: ${prev}`)
      }
      if (!f.verifyIndexOnly) out += `timestamp: ${timestamp} offset: ${offset}\n`
      prev = timestamp
    })
  } finally {
    log.close()
  }
  process.stdout.write(out)
  if (problems.length > 0) {
    process.stderr.write(`Found time index problems in :${file}\n`)
    for (const p of problems) process.stderr.write(`  ${p}\n`)
  }
  if (f.verifyIndexOnly) {
    process.stdout.write(problems.length === 0
      ? `${file}: all ${entries.length} time index entries match ${siblingLog(file)}\n`
      : `${file}: ${problems.length} problems in ${entries.length} time index entries\n`)
  }
  return problems.length
}

function sanity(file: string, keys: number[], partial: number, what: string): number {
  const problems: string[] = []
  if (partial !== 0) problems.push(`the file size is not a multiple of the entry size (${partial} trailing bytes)`)
  for (let i = 1; i < keys.length; i++) {
    if (keys[i]! <= keys[i - 1]!) problems.push(`entry ${i}: ${what} ${keys[i]} is not larger than the previous ${keys[i - 1]}`)
  }
  if (problems.length === 0) {
    process.stdout.write(`${file} passed sanity check.\n`)
    return 0
  }
  for (const p of problems) process.stderr.write(`${file}: ${p}\n`)
  return problems.length
}
