/**
 * The broker's logger: pino, JSON by default, human-readable when stdout is a terminal.
 */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(options: { format: 'auto' | 'json' | 'pretty'; level: string; name?: string }): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true)
  const base = { name: options.name ?? 'samsa', level: options.level }
  if (!pretty) return pino(base)
  return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } })
}

/** A logger that drops everything (tests and library users who pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
