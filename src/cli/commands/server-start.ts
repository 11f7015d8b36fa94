/**
 * `samsa server-start <server.properties> [--override key=value ...]`, as kafka-server-start.sh.
 * A bad configuration stops start-up with a message naming the key; SIGINT/SIGTERM stop the
 * broker cleanly (partitions flushed and closed, clean-shutdown marker written).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseProperties } from '../../config/properties.ts'
import { ConfigError } from '../../config/broker-config.ts'
import type { Broker } from '../../broker/broker.ts'

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

export function registerServerStart(program: Command): void {
  program
    .command('server-start')
    .description('start a broker from a Kafka-style server.properties file')
    .argument('[properties]', 'path to server.properties (Kafka property names); omit for built-in defaults')
    .option('--override <key=value>', 'override a property (repeatable)', collect, [])
    .action(async (file: string | undefined, opts: { override: string[] }) => {
      const props = new Map<string, string>()
      if (file) {
        let text: string
        try {
          text = readFileSync(file, 'utf8')
        } catch (err) {
          console.error(`samsa server-start: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
          process.exitCode = 2
          return
        }
        for (const [k, v] of parseProperties(text)) props.set(k, v)
      }
      for (const o of opts.override) {
        const eq = o.indexOf('=')
        if (eq <= 0) {
          console.error(`samsa server-start: --override expects key=value, got '${o}'`)
          process.exitCode = 2
          return
        }
        props.set(o.slice(0, eq).trim(), o.slice(eq + 1))
      }
      // Loaded here, not at the top: the other samsa commands start faster without the broker.
      const { Broker } = await import('../../broker/broker.ts')
      let broker: Broker
      try {
        broker = await Broker.start({ config: Object.fromEntries(props), server: true })
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(`samsa server-start: invalid configuration: ${err.message}`)
          process.exitCode = 2
          return
        }
        throw err
      }
      let stopping = false
      const stop = (signal: string): void => {
        if (stopping) return
        stopping = true
        broker.log.info({ signal }, 'shutting down')
        broker.stop().then(() => process.exit(0), (err: unknown) => {
          console.error(err)
          process.exit(1)
        })
      }
      process.on('SIGINT', () => stop('SIGINT'))
      process.on('SIGTERM', () => stop('SIGTERM'))
    })
}
