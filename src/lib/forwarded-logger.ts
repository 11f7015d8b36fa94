/**
 * Logging from worker threads that have no logger of their own: a pino logger whose lines are
 * handed to `send` (as parsed objects) instead of written, and the receiving side that replays
 * them into the broker's logger (so library mode's silent logger and the terminal's pretty
 * output apply to every thread alike).
 */
import { pino, type Logger } from 'pino'

/** The main thread's actor (on its router) that replays worker log lines into the broker's logger. */
export const LOG_ACTOR = 'log'

export interface ForwardedLine {
  readonly level: number
  readonly msg: string
  readonly [field: string]: unknown
}

export function forwardingLogger(level: string, name: string, send: (line: ForwardedLine) => void): Logger {
  return pino({ level, name, base: undefined, timestamp: false }, { write: (s: string) => send(JSON.parse(s) as ForwardedLine) })
}

const METHODS: ReadonlyArray<[number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal']> = [
  [60, 'fatal'], [50, 'error'], [40, 'warn'], [30, 'info'], [20, 'debug'], [10, 'trace'],
]

export function replayLine(logger: Logger, line: ForwardedLine): void {
  const { level, msg, ...fields } = line
  const method = METHODS.find(([n]) => level >= n)?.[1] ?? 'info'
  logger[method](fields, msg)
}
