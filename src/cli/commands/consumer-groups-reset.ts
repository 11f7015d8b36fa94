/**
 * `samsa consumer-groups --reset-offsets` and `--delete-offsets`, as Kafka's
 * ConsumerGroupCommand does them: partitions from `--topic T` (every partition), `--topic
 * T:0,2` or `--all-topics` (the topics the group has offsets for); new offsets by one scenario,
 * clamped to [log start, log end] with Kafka's notice; a table of GROUP TOPIC PARTITION
 * NEW-OFFSET; written (`--execute`) as an OffsetCommit from outside the group (generation -1,
 * no member id), which is why the group must be inactive (Empty or Dead) first.
 */
import { Admin, EARLIEST, LATEST } from '../../client/admin.ts'
import type { KafkaClient } from '../../client/client.ts'
import type { GroupAdmin } from '../../client/group-admin.ts'
import type { TopicPartition } from '../../client/assignors.ts'
import { ClientError, KafkaError } from '../../client/errors.ts'
import { UsageError } from '../common.ts'

export type Scenario =
  | { kind: 'to-earliest' } | { kind: 'to-latest' } | { kind: 'to-current' }
  | { kind: 'to-offset'; offset: number } | { kind: 'shift-by'; delta: number } | { kind: 'to-datetime'; timestamp: number }

/** A failure the tool reports on one line with exit code 1 (Kafka prints "Error: ..."). */
export class GroupCommandError extends ClientError {}

/** `T` or `T:0,1,2` → topic and partitions (null: all of them). */
export function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const colon = spec.lastIndexOf(':')
  if (colon < 0) return { topic: spec, partitions: null }
  const topic = spec.slice(0, colon)
  const partitions = spec.slice(colon + 1).split(',').map((p) => {
    const n = Number(p.trim())
    if (p.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--topic: expected TOPIC or TOPIC:PARTITION[,PARTITION...], got '${spec}'`)
    return n
  })
  if (topic === '') throw new UsageError(`--topic: expected TOPIC or TOPIC:PARTITION[,PARTITION...], got '${spec}'`)
  return { topic, partitions }
}

/** Kafka's --to-datetime format, 'YYYY-MM-DDTHH:mm:SS.sss' with an optional zone (local time without one). */
export function parseDateTime(value: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim())
  const ms = m ? Date.parse(m[2] ? `${m[1]}${m[2].length === 5 ? `${m[2].slice(0, 3)}:${m[2].slice(3)}` : m[2]}` : m[1]!) : Number.NaN
  if (!Number.isFinite(ms)) throw new UsageError(`--to-datetime expects YYYY-MM-DDTHH:mm:SS.sss (optionally with a zone such as Z or +01:00), got '${value}'`)
  return ms
}

/** The partitions named by --topic / --all-topics; unknown topics fail as Kafka's tool does. */
export async function resolvePartitions(client: KafkaClient, admin: GroupAdmin, groupId: string, specs: readonly string[], allTopics: boolean): Promise<TopicPartition[]> {
  if (allTopics) {
    return (await admin.committedOffsets(groupId)).filter((c) => c.offset >= 0).map((c) => ({ topic: c.topic, partition: c.partition }))
  }
  const parsed = specs.map(parseTopicSpec)
  const md = await client.metadata([...new Set(parsed.map((p) => p.topic))])
  const out: TopicPartition[] = []
  for (const { topic, partitions } of parsed) {
    const info = md.topics.get(topic)
    if (!info || info.errorCode !== 0) throw new GroupCommandError(`topic '${topic}' does not exist`)
    for (const p of partitions ?? info.partitions.map((x) => x.partition)) {
      if (!info.partitions.some((x) => x.partition === p)) throw new GroupCommandError(`partition ${topic}-${p} does not exist (the topic has partitions 0..${info.partitions.length - 1})`)
      out.push({ topic, partition: p })
    }
  }
  return out
}

const tpKey = (p: TopicPartition): string => `${p.topic}\0${p.partition}`

async function offsetsAt(admin: Admin, partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const o of await admin.listOffsets(partitions, timestamp)) {
    if (o.error) throw o.error
    out.set(tpKey(o), o.offset)
  }
  return out
}

/** The new offset of every partition under a scenario, clamped to the log's range with Kafka's notices. */
export async function planReset(client: KafkaClient, groups: GroupAdmin, groupId: string, partitions: readonly TopicPartition[], scenario: Scenario): Promise<{ topic: string; partition: number; offset: number }[]> {
  const admin = new Admin(client)
  const earliest = await offsetsAt(admin, partitions, EARLIEST)
  const latest = await offsetsAt(admin, partitions, LATEST)
  const committed = new Map((await groups.committedOffsets(groupId, partitions)).filter((c) => c.offset >= 0).map((c) => [tpKey(c), c.offset]))
  const byTime = scenario.kind === 'to-datetime' ? await offsetsAt(admin, partitions, scenario.timestamp) : null
  return partitions.map((p) => {
    const k = tpKey(p)
    const lo = earliest.get(k)!
    const hi = latest.get(k)!
    let target: number
    switch (scenario.kind) {
      case 'to-earliest': target = lo; break
      case 'to-latest': target = hi; break
      case 'to-current': target = committed.get(k) ?? hi; break
      case 'to-offset': target = scenario.offset; break
      case 'shift-by': {
        const current = committed.get(k)
        if (current === undefined) throw new GroupCommandError(`cannot shift the offset of ${p.topic}-${p.partition}: group '${groupId}' has no committed offset for it`)
        target = current + scenario.delta
        break
      }
      // No record at or after the time: the log end, as Kafka does.
      case 'to-datetime': target = byTime!.get(k)! >= 0 ? byTime!.get(k)! : hi; break
    }
    if (target > hi) {
      process.stdout.write(`New offset (${target}) is higher than latest offset for topic partition ${p.topic}-${p.partition}. Value will be set to ${hi}\n`)
      target = hi
    } else if (target < lo) {
      process.stdout.write(`New offset (${target}) is lower than earliest offset for topic partition ${p.topic}-${p.partition}. Value will be set to ${lo}\n`)
      target = lo
    }
    return { topic: p.topic, partition: p.partition, offset: target }
  })
}

/** Refuses to touch the offsets of a group that has members, as Kafka's tool does. */
export async function requireInactive(groups: GroupAdmin, groupId: string): Promise<void> {
  const { state } = await groups.describeGroup(groupId)
  if (state !== 'Empty' && state !== 'Dead') {
    throw new GroupCommandError(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`)
  }
}

const pad = (s: string | number, n: number): string => String(s).padEnd(n)

/** Kafka's table: GROUP TOPIC PARTITION NEW-OFFSET, after a blank line. */
export function resetTable(groupId: string, plan: readonly { topic: string; partition: number; offset: number }[]): string {
  if (plan.length === 0) return ''
  const row = (g: string, t: string, p: string | number, o: string | number): string => `${pad(g, 30)} ${pad(t, 30)} ${pad(p, 10)} ${pad(o, 15)}\n`
  const sorted = [...plan].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  return `\n${row('GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET')}${sorted.map((p) => row(groupId, p.topic, p.partition, p.offset)).join('')}`
}

/** --delete-offsets: OffsetDelete, then Kafka's TOPIC PARTITION STATUS table. */
export async function deleteOffsets(groups: GroupAdmin, groupId: string, partitions: readonly TopicPartition[]): Promise<boolean> {
  let results
  try {
    results = await groups.deleteOffsets(groupId, partitions)
  } catch (err) {
    if (err instanceof KafkaError && err.code === 69) throw new GroupCommandError(`Consumer group '${groupId}' does not exist.`)
    throw err
  }
  const failed = results.some((r) => r.error)
  const topics = [...new Set(partitions.map((p) => p.topic))].join(', ')
  process.stdout.write(failed ? `Request failed for deleting offsets with topic ${topics} group ${groupId}\n` : `Request succeed for deleting offsets with topic ${topics} group ${groupId}\n`)
  const row = (t: string, p: string | number, s: string): string => `${pad(t, 30)} ${pad(p, 15)} ${s}\n`
  let out = `\n${row('TOPIC', 'PARTITION', 'STATUS')}`
  for (const r of results) out += row(r.topic, r.partition, r.error ? `Error: ${r.error.message}` : 'Successful')
  process.stdout.write(out)
  return !failed
}
