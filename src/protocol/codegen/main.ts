/**
 * `npm run generate -- [specDir]`: regenerates src/protocol/{messages,metadata-records,group-records}.
 * specDir defaults to ../shared/kafka-spec; relative paths are resolved against the
 * repository root (not the current directory), so the output never depends on where
 * the command was started.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from './generate.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const specDir = resolve(repoRoot, process.argv[2] ?? '../shared/kafka-spec')
const outRoot = resolve(repoRoot, 'src/protocol')

try {
  const result = generate(specDir, outRoot)
  console.log(`generated from ${specDir}: ${result.written} written, ${result.unchanged} unchanged, ${result.removed} removed`)
} catch (err) {
  console.error(`npm run generate: ${(err as Error).message}; nothing was changed.`)
  console.error('Give the folder of Kafka\'s JSON message schemas (with message/, metadata/ and group-coordinator/ in it): npm run generate -- <folder>')
  process.exitCode = 1
}
