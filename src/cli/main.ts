#!/usr/bin/env node
/**
 * The `samsa` command: Kafka-style tools under one binary (`samsa server-start`, ...).
 * Wrong usage prints a one-line error naming the problem and exits with code 2.
 */
import { Command, CommanderError } from 'commander'
import { registerServerStart } from './commands/server-start.ts'

const program = new Command('samsa')
  .description('Samsa: a Kafka-compatible distributed log for Node.js')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
registerServerStart(program)

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
