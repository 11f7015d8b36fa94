/**
 * The two sparse segment indexes, in Kafka's file formats, without preallocation.
 *
 * `.index`: 8-byte entries (i32 relative offset, i32 file position), keys strictly increasing.
 * `.timeindex`: 12-byte entries (i64 timestamp, i32 relative offset), timestamps strictly increasing.
 *
 * An active index mirrors its entries in a growable Float64Array (key, value pairs) and appends
 * each new entry to the file as it is made. An inactive index keeps nothing in memory: lookups
 * binary-search the file with 8/12-byte positioned reads through the shared fd LRU.
 */
import { fdatasyncSync, fstatSync, ftruncateSync, renameSync } from 'node:fs'
import { assert } from '../lib/assert.ts'
import { readFully, writeFully } from './batch-scan.ts'
import type { FileHandleCache } from './file-handles.ts'
import { readInt64, writeInt64 } from './record-batch.ts'

const scratch = Buffer.allocUnsafeSlow(12)
/** Suffix of an index being rebuilt (see SparseIndex.beginRebuild). */
export const REBUILD_SUFFIX = '.rebuild'
const INITIAL_CAPACITY = 8

abstract class SparseIndex {
  readonly path: string
  protected readonly fds: FileHandleCache
  private readonly entrySize: number
  /** (key, value) pairs while active; null while inactive. */
  private mem: Float64Array | null = null
  /** Entries in the file; -1 until first needed for an inactive index. */
  private entries = -1
  /** Where entries are written: the index itself, or its `.rebuild` file during a crash-safe rebuild. */
  private writePath: string

  constructor(path: string, fds: FileHandleCache, entrySize: number) {
    this.path = path
    this.fds = fds
    this.entrySize = entrySize
    this.writePath = path
  }

  protected abstract encode(buf: Buffer, key: number, value: number): void
  protected abstract decodeKey(buf: Buffer): number
  protected abstract decodeValue(buf: Buffer): number
  /** Checks one loaded entry against the segment (e.g. positions inside the .log). */
  protected abstract entryIsSane(key: number, value: number, logSize: number): boolean

  /** Empties the file (creating it if missing). */
  reset(): void {
    ftruncateSync(this.fds.get(this.writePath, true), 0)
    this.entries = 0
    if (this.mem !== null) this.mem = new Float64Array(INITIAL_CAPACITY * 2)
  }

  activate(): void {
    this.mem ??= new Float64Array(INITIAL_CAPACITY * 2)
  }

  deactivate(): void {
    this.mem = null
  }

  /** Reads the whole file into memory (the active segment after a clean restart). False if it looks damaged. */
  load(logSize: number): boolean {
    let fd: number
    try {
      fd = this.fds.get(this.path)
    } catch {
      return false
    }
    const bytes = fstatSync(fd).size
    if (bytes % this.entrySize !== 0) return false
    const count = bytes / this.entrySize
    const raw = Buffer.allocUnsafe(bytes)
    if (readFully(fd, raw, 0, bytes, 0) !== bytes) return false
    const mem = new Float64Array(Math.max(INITIAL_CAPACITY, count) * 2)
    for (let i = 0; i < count; i++) {
      const entry = raw.subarray(i * this.entrySize)
      const key = this.decodeKey(entry)
      const value = this.decodeValue(entry)
      if (!this.entryIsSane(key, value, logSize) || (i > 0 && key <= mem[(i - 1) * 2]!)) return false
      mem[i * 2] = key
      mem[i * 2 + 1] = value
    }
    this.mem = mem
    this.entries = count
    return true
  }

  entryCount(): number {
    if (this.entries < 0) {
      try {
        this.entries = Math.floor(fstatSync(this.fds.get(this.path)).size / this.entrySize)
      } catch {
        this.entries = 0 // a missing index of an old segment: lookups scan from the start
      }
    }
    return this.entries
  }

  protected appendEntry(key: number, value: number): void {
    const i = this.entryCount()
    if (this.mem !== null) {
      if (this.mem.length < (i + 1) * 2) {
        const grown = new Float64Array(this.mem.length * 2)
        grown.set(this.mem)
        this.mem = grown
      }
      this.mem[i * 2] = key
      this.mem[i * 2 + 1] = value
    }
    this.encode(scratch, key, value)
    writeFully(this.fds.get(this.writePath, true), scratch, 0, this.entrySize, i * this.entrySize)
    this.entries = i + 1
  }

  protected keyAt(i: number): number {
    if (this.mem !== null) return this.mem[i * 2]!
    this.readEntry(i)
    return this.decodeKey(scratch)
  }

  protected valueAt(i: number): number {
    if (this.mem !== null) return this.mem[i * 2 + 1]!
    this.readEntry(i)
    return this.decodeValue(scratch)
  }

  private readEntry(i: number): void {
    const n = readFully(this.fds.get(this.path), scratch, 0, this.entrySize, i * this.entrySize)
    assert(n === this.entrySize, `short read of index ${this.path}`)
  }

  /** Index of the last entry whose key is <= `key` (or < `key` when `strict`); -1 if none. */
  protected floorIndex(key: number, strict: boolean): number {
    let lo = 0
    let hi = this.entryCount() - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const k = this.keyAt(mid)
      if (k < key || (!strict && k === key)) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found
  }

  /**
   * Starts a crash-safe rebuild: from here until commitRebuild() entries go to `<index>.rebuild`,
   * so a stop in the middle leaves the old file (or none) in place, never a partial index that
   * would later pass for a whole one (a short `.timeindex` understates the segment's newest
   * timestamp, and time retention would delete it early). Start-up removes stray `.rebuild` files.
   */
  beginRebuild(): void {
    assert(this.writePath === this.path, `${this.path}: a rebuild is already under way`)
    this.writePath = `${this.path}${REBUILD_SUFFIX}`
  }

  /** Makes the rebuilt file durable and renames it over the index. */
  commitRebuild(): void {
    assert(this.writePath !== this.path, `${this.path}: no rebuild under way`)
    const fd = this.fds.get(this.writePath, true)
    fdatasyncSync(fd)
    this.fds.close(this.writePath)
    this.fds.close(this.path) // a handle on the old file would keep reading it after the rename
    renameSync(this.writePath, this.path)
    this.writePath = this.path
  }

  flush(): void {
    if (this.entryCount() > 0) fdatasyncSync(this.fds.get(this.path))
  }

  close(): void {
    this.fds.close(this.path)
  }
}

export class OffsetIndex extends SparseIndex {
  constructor(path: string, fds: FileHandleCache) {
    super(path, fds, 8)
  }
  protected encode(buf: Buffer, relativeOffset: number, position: number): void {
    buf.writeInt32BE(relativeOffset, 0)
    buf.writeInt32BE(position, 4)
  }
  protected decodeKey(buf: Buffer): number {
    return buf.readInt32BE(0)
  }
  protected decodeValue(buf: Buffer): number {
    return buf.readInt32BE(4)
  }
  protected entryIsSane(relativeOffset: number, position: number, logSize: number): boolean {
    return relativeOffset >= 0 && position >= 0 && position < logSize
  }

  append(relativeOffset: number, position: number): void {
    this.appendEntry(relativeOffset, position)
  }

  /** The entry with the largest relative offset <= `relativeOffset`. */
  floor(relativeOffset: number): { relativeOffset: number; position: number } | null {
    const i = this.floorIndex(relativeOffset, false)
    return i < 0 ? null : { relativeOffset: this.keyAt(i), position: this.valueAt(i) }
  }

  lastEntry(): { relativeOffset: number; position: number } | null {
    const i = this.entryCount() - 1
    return i < 0 ? null : { relativeOffset: this.keyAt(i), position: this.valueAt(i) }
  }
}

export class TimeIndex extends SparseIndex {
  constructor(path: string, fds: FileHandleCache) {
    super(path, fds, 12)
  }
  protected encode(buf: Buffer, timestamp: number, relativeOffset: number): void {
    writeInt64(buf, 0, timestamp)
    buf.writeInt32BE(relativeOffset, 8)
  }
  protected decodeKey(buf: Buffer): number {
    return readInt64(buf, 0)
  }
  protected decodeValue(buf: Buffer): number {
    return buf.readInt32BE(8)
  }
  protected entryIsSane(timestamp: number, relativeOffset: number): boolean {
    return Number.isSafeInteger(timestamp) && relativeOffset >= 0
  }

  /** Appends only when the timestamp grows (Kafka's TimeIndex.maybeAppend keeps it monotonic). */
  maybeAppend(timestamp: number, relativeOffset: number): void {
    const count = this.entryCount()
    if (count > 0 && this.keyAt(count - 1) >= timestamp) return
    this.appendEntry(timestamp, relativeOffset)
  }

  /** The entry with the largest timestamp strictly below `timestamp`: every batch before its offset is older. */
  floorBelow(timestamp: number): { timestamp: number; relativeOffset: number } | null {
    const i = this.floorIndex(timestamp, true)
    return i < 0 ? null : { timestamp: this.keyAt(i), relativeOffset: this.valueAt(i) }
  }

  lastEntry(): { timestamp: number; relativeOffset: number } | null {
    const i = this.entryCount() - 1
    return i < 0 ? null : { timestamp: this.keyAt(i), relativeOffset: this.valueAt(i) }
  }
}
