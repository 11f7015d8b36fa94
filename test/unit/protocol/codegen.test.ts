import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OUTPUT_DIRS, generate } from '../../../src/protocol/codegen/generate.ts'
import { kebabCase, upperSnake } from '../../../src/protocol/codegen/emit-file.ts'
import { cond, minus } from '../../../src/protocol/codegen/ranges.ts'
import { parseVersions, stripComments } from '../../../src/protocol/codegen/schema.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const specDir = join(repoRoot, '../shared/kafka-spec')
const committedRoot = join(repoRoot, 'src/protocol')

t.test('schema helpers', async (t) => {
  t.same(JSON.parse(stripComments('// licence\n{ "a": "http://x//y", // note\n "b": 1 }')), { a: 'http://x//y', b: 1 })
  t.same(parseVersions('3+', 'x'), { lo: 3, hi: Infinity })
  t.same(parseVersions('0-2', 'x'), { lo: 0, hi: 2 })
  t.same(parseVersions('5', 'x'), { lo: 5, hi: 5 })
  t.equal(parseVersions('none', 'x'), null)
  t.throws(() => parseVersions('3-', 'x'))
  t.equal(kebabCase('ProduceRequest'), 'produce-request')
  t.equal(kebabCase('KRaftVersionRecord'), 'k-raft-version-record')
  t.equal(upperSnake('ApiVersionsResponse'), 'API_VERSIONS_RESPONSE')
  t.equal(cond({ lo: 3, hi: Infinity }, { lo: 0, hi: 11 }), 'version >= 3')
  t.equal(cond({ lo: 0, hi: Infinity }, { lo: 0, hi: 11 }), true)
  t.equal(cond({ lo: 0, hi: 12 }, { lo: 0, hi: 17 }), 'version <= 12')
  t.equal(cond({ lo: 12, hi: Infinity }, { lo: 0, hi: 3 }), false)
  t.same(minus({ lo: 0, hi: 11 }, { lo: 9, hi: Infinity }), { lo: 0, hi: 8 })
})

t.test('committed generated code matches a fresh generation', { skip: existsSync(specDir) ? false : `no Kafka schemas at ${specDir}` }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'samsa-codegen-'))
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
  const result = generate(specDir, tmp)
  t.ok(result.written > 200, `generated ${result.written} files`)
  for (const sub of Object.values(OUTPUT_DIRS)) {
    const fresh = readdirSync(join(tmp, sub)).sort()
    const committedDir = join(committedRoot, sub)
    const committed = existsSync(committedDir) ? readdirSync(committedDir).filter((f) => f.endsWith('.ts')).sort() : []
    t.same(committed, fresh, `${sub}/: same file list (run \`npm run generate\` if this fails)`)
    const differing = fresh.filter((f) => committed.includes(f) && readFileSync(join(tmp, sub, f), 'utf8') !== readFileSync(join(committedDir, f), 'utf8'))
    t.same(differing, [], `${sub}/: every file byte-identical`)
  }
})

t.test('a wrong spec folder is an error that changes nothing (it must not remove every codec)', async (t) => {
  const root = t.testdir({ out: { messages: { 'kept.ts': '// generated\n' } }, empty: { message: {}, metadata: {}, 'group-coordinator': {} } })
  const out = join(root, 'out')
  const empty = join(root, 'empty')
  t.throws(() => generate(join(out, 'no-such-spec'), out), /no spec folder .*no-such-spec/)
  t.throws(() => generate(empty, out), /no \*\.json schemas in /)
  t.same(readdirSync(join(out, 'messages')), ['kept.ts'], 'the output is untouched')
})
