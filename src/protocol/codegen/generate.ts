/**
 * Generates the protocol codecs from a directory of Kafka JSON schemas:
 *   <spec>/message           → messages/        (+ index.ts with API_KEYS)
 *   <spec>/metadata          → metadata-records/ (+ index.ts with METADATA_RECORDS)
 *   <spec>/group-coordinator → group-records/
 * Output file names are the schema names in kebab case.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BANNER, emitFile, kebabCase } from './emit-file.ts'
import { emitMessagesIndex, emitMetadataIndex } from './emit-index.ts'
import { loadSchema, type MessageSchema } from './schema.ts'

export const OUTPUT_DIRS = { message: 'messages', metadata: 'metadata-records', 'group-coordinator': 'group-records' } as const

/**
 * Every schema of one spec folder. A missing or empty folder is an error, not "no schemas": the
 * generator removes what it no longer produces, so a wrong path would delete every codec.
 */
function loadDir(dir: string): MessageSchema[] {
  if (!existsSync(dir)) throw new Error(`no spec folder ${dir}`)
  const names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  if (names.length === 0) throw new Error(`no *.json schemas in ${dir}`)
  return names.map((f) => loadSchema(join(dir, f)))
}

/** Every generated file as (path relative to the output root → contents). */
export function generateFiles(specDir: string): Map<string, string> {
  const files = new Map<string, string>()
  for (const [specSub, outSub] of Object.entries(OUTPUT_DIRS)) {
    const schemas = loadDir(join(specDir, specSub))
    for (const schema of schemas) files.set(`${outSub}/${kebabCase(schema.fileName)}.ts`, emitFile(schema))
    if (specSub === 'message') files.set(`${outSub}/index.ts`, emitMessagesIndex(schemas))
    if (specSub === 'metadata') files.set(`${outSub}/index.ts`, emitMetadataIndex(schemas))
  }
  return files
}

/**
 * Writes the generated files under outRoot, only touching files whose content changed,
 * and removes stale generated files (those carrying the banner) that are no longer produced.
 */
export function generate(specDir: string, outRoot: string): { written: number; unchanged: number; removed: number } {
  const files = generateFiles(specDir)
  let written = 0
  let unchanged = 0
  let removed = 0
  for (const sub of Object.values(OUTPUT_DIRS)) {
    const dir = join(outRoot, sub)
    mkdirSync(dir, { recursive: true })
    for (const f of readdirSync(dir)) {
      const rel = `${sub}/${f}`
      if (files.has(rel) || !f.endsWith('.ts')) continue
      if (readFileSync(join(dir, f), 'utf8').startsWith(BANNER)) {
        rmSync(join(dir, f))
        removed++
      }
    }
  }
  for (const [rel, text] of files) {
    const path = join(outRoot, rel)
    if (existsSync(path) && readFileSync(path, 'utf8') === text) {
      unchanged++
      continue
    }
    writeFileSync(path, text)
    written++
  }
  return { written, unchanged, removed }
}
