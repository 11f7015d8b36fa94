/**
 * The `samsa` command (loaded by main.ts): Kafka-style tools under one binary (`samsa server-start`, `samsa topics`,
 * `samsa console-producer`, ...). Wrong usage prints a one-line error naming the problem and
 * exits with code 2; a failure at run time (unreachable broker, a Kafka error) prints one line
 * and exits with code 1.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { registerServerStart } from './commands/server-start.ts'
import { registerTopics } from './commands/topics.ts'
import { registerConsoleProducer } from './commands/console-producer.ts'
import { registerConsoleConsumer } from './commands/console-consumer.ts'
import { registerConsumerGroups } from './commands/consumer-groups.ts'
import { registerConfigs } from './commands/configs.ts'
import { registerDumpLog } from './commands/dump-log.ts'
import { registerPerf } from './commands/perf.ts'
import { configureTool } from './common.ts'

// `samsa ... | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

const program = new Command('samsa')
  .description('Samsa: a Kafka-compatible distributed log for Node.js')
  .exitOverride()
configureTool(program, 'samsa')
program.addHelpText('after', `
Each command takes --help, e.g. 'samsa topics --help'. Newcomer flow:
  samsa server-start config/server.properties
  samsa topics --create --topic quickstart-events --bootstrap-server localhost:9092
  samsa console-producer --topic quickstart-events --bootstrap-server localhost:9092
  samsa console-consumer --topic quickstart-events --from-beginning --bootstrap-server localhost:9092
  samsa console-consumer --topic quickstart-events --group my-group --from-beginning --bootstrap-server localhost:9092
  samsa consumer-groups --describe --group my-group --bootstrap-server localhost:9092
  samsa perf produce --topic quickstart-events --num-records 100000 --record-size 100 --throughput -1`)
registerServerStart(program)
for (const c of program.commands) configureTool(c, `samsa ${c.name()}`)
registerTopics(program)
registerConsoleProducer(program)
registerConsoleConsumer(program)
registerConsumerGroups(program)
registerConfigs(program)
registerDumpLog(program)
registerPerf(program)
// `--version` on every tool, as Kafka's scripts have it.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
for (const c of [program, ...program.commands]) c.version(version, '--version', 'print the Samsa version and exit')

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2
  } else {
    console.error(`samsa: ${(err as Error).message}`)
    process.exitCode = 1
  }
}
