/**
 * What every `samsa` tool shares: connection options (with the legacy `--broker-list` and
 * `--zookeeper` flags of old tutorials), argument parsers that fail with a one-line message,
 * `key=value` property lists, and `runAction`, which turns any ClientError into one line on
 * stderr and exit code 1 (usage errors exit with 2 through commander, see main.ts).
 */
import { readFileSync } from 'node:fs'
import type { EventEmitter } from 'node:events'
import { Command, InvalidArgumentError, Option } from 'commander'
import { ClientError } from '../client/errors.ts'
import { KafkaClient } from '../client/client.ts'
import { parseProperties as parsePropertiesText } from '../config/properties.ts'

export const DEFAULT_BOOTSTRAP = 'localhost:9092'
/** The port a broker listens on when a tutorial's ZooKeeper address is given instead. */
export const DEFAULT_BROKER_PORT = 9092

/** Thrown for bad usage found after parsing (exit code 2, one line). */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export function intArg(what: string, min = Number.MIN_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected ${what}, got '${value}'.`)
    if (n < min) throw new InvalidArgumentError(`expected ${what} of at least ${min}, got ${n}.`)
    return n
  }
}

export function numberArg(what: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected ${what}, got '${value}'.`)
    return n
  }
}

/** `acks`: 0, 1, -1 or all. */
export function parseAcks(value: string): number {
  const v = value.trim().toLowerCase()
  if (v === 'all' || v === '-1') return -1
  if (v === '0' || v === '1') return Number(v)
  throw new InvalidArgumentError(`expected 0, 1, -1 or all, got '${value}'.`)
}

/** key=value pairs of a repeatable option into a map; `what` names the option in errors. */
export function keyValues(pairs: readonly string[] | undefined, what: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`${what} expects key=value, got '${pair}'`)
    out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1))
  }
  return out
}

/** A Java-style properties file (for --producer.config / --consumer.config / --command-config). */
export function readPropertiesFile(path: string, what: string): Map<string, string> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return new Map(parsePropertiesText(text))
}

export interface ConnectionFlags {
  bootstrapServer: string
  brokerList?: string
  zookeeper?: string
  connectTimeoutMs: number
}

/** --bootstrap-server and friends, on every command that talks to a broker. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--bootstrap-server <host:port>', 'the broker(s) to connect to, comma-separated', DEFAULT_BOOTSTRAP)
    .option('--connect-timeout-ms <ms>', 'how long to keep trying to reach the broker before giving up', intArg('a time in ms', 1), 10_000)
    .addOption(new Option('--broker-list <host:port>', 'legacy name of --bootstrap-server (old tutorials)'))
    .addOption(new Option('--zookeeper <host:port>', 'legacy: Samsa has no ZooKeeper; the same host is tried on the broker port 9092'))
}

/**
 * The bootstrap servers, after the legacy flags: `--broker-list` is `--bootstrap-server`;
 * `--zookeeper host:2181` names a ZooKeeper that Samsa does not have, so the same host is
 * tried on the broker's default port. Each prints a one-line notice.
 */
export function resolveBootstrap(cmd: Command, flags: ConnectionFlags, tool: string): string {
  const explicit = cmd.getOptionValueSource('bootstrapServer') !== 'default'
  if (flags.brokerList !== undefined) {
    process.stderr.write(`${tool}: note: --broker-list is the old name of --bootstrap-server; using --bootstrap-server ${flags.brokerList}\n`)
    if (!explicit) return flags.brokerList
  }
  if (flags.zookeeper !== undefined) {
    const hosts = flags.zookeeper.split('/')[0]!.split(',').map((hp) => {
      const s = hp.trim()
      const v6 = /^\[[^\]]+\]/.exec(s)
      const host = v6 ? v6[0] : s.split(':')[0]!
      return `${host}:${DEFAULT_BROKER_PORT}`
    })
    const bootstrap = hosts.join(',')
    if (explicit || flags.brokerList !== undefined) {
      process.stderr.write(`${tool}: note: --zookeeper is ignored: Samsa has no ZooKeeper (cluster metadata lives in a Raft quorum, as in KRaft)\n`)
    } else {
      process.stderr.write(`${tool}: note: --zookeeper ${flags.zookeeper}: Samsa has no ZooKeeper (cluster metadata lives in a Raft quorum, as in KRaft); trying the broker at ${bootstrap} instead — use --bootstrap-server ${bootstrap}\n`)
      return bootstrap
    }
  }
  return flags.bootstrapServer
}

export function createClient(cmd: Command, flags: ConnectionFlags, tool: string, clientId: string): KafkaClient {
  const bootstrap = resolveBootstrap(cmd, flags, tool)
  try {
    return new KafkaClient({ bootstrap, clientId, connectTimeoutMs: flags.connectTimeoutMs })
  } catch (err) {
    if (err instanceof ClientError) throw new UsageError(`--bootstrap-server: ${err.message}`)
    throw err
  }
}

/** Options given on the command line, as opposed to left at their defaults. */
export function isExplicit(cmd: Command, key: string): boolean {
  const source = cmd.getOptionValueSource(key)
  return source !== undefined && source !== 'default'
}

/**
 * Wraps a command action: usage errors become commander errors (one line, exit 2); client
 * errors (unreachable broker, Kafka error codes) one line on stderr and exit code 1.
 * Anything else is a bug and keeps its stack trace.
 */
export function runAction<A extends unknown[]>(tool: string, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command
    try {
      await fn(...args)
    } catch (err) {
      if (err instanceof UsageError) cmd.error(err.message, { exitCode: 2, code: 'samsa.usage' })
      if (err instanceof ClientError) {
        process.stderr.write(`${tool}: ${err.message}\n`)
        process.exitCode = 1
        return
      }
      throw err
    }
  }
}

/** Formats commander's error (one line, prefixed with the tool) — see main.ts. */
export function oneLineError(tool: string, message: string): string {
  const text = message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()
  return `${tool}: ${text} (see '${tool} --help')\n`
}

/**
 * Applies samsa's output conventions to a command and remembers its full name for errors.
 * Call it after the command's options are defined.
 */
export function configureTool(cmd: Command, tool: string): Command {
  refuseOptionsAsValues(cmd)
  return cmd
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(oneLineError(tool, str)) })
}

/**
 * `--topic --bootstrap-server host:9092` (the topic forgotten): commander takes the next
 * argument as the value whatever it is, so the mistake would surface later and elsewhere ("too
 * many arguments", a topic named '--from-beginning'). A value that is one of the command's own
 * options is refused as a missing argument instead, as Kafka's tools do ("Option topic requires
 * an argument").
 */
function refuseOptionsAsValues(cmd: Command): void {
  const isOption = (value: string): boolean => {
    const flag = value.split('=')[0]!
    return flag === '--help' || flag === '-h' || cmd.options.some((o) => o.long === flag || o.short === flag)
  }
  const events = cmd as unknown as EventEmitter // commander's Command is an EventEmitter
  for (const option of cmd.options) {
    if (!option.required) continue // only options whose value is mandatory take the next argument blindly
    // Before commander's own listener, which would parse and store the value.
    events.prependListener(`option:${option.name()}`, (value: unknown) => {
      if (typeof value === 'string' && isOption(value)) {
        cmd.error(`error: option '${option.flags}' argument missing (got the option '${value}' instead)`, { exitCode: 2, code: 'commander.optionMissingArgument' })
      }
    })
  }
}
