/**
 * Emits the decode/encode/default (and, where tagged fields need it, isDefault) functions
 * of one struct. Every per-version decision is a plain `version >= N` test in the output,
 * simplified against the versions the function can actually be called with.
 */
import { choose, cond, intersect, type Cond } from './ranges.ts'
import { defaultExpr, differsFromDefault, readLeaf, tsType, writeLeaf, type Imports } from './field-code.ts'
import type { Field, MessageSchema, Struct, VersionRange } from './schema.ts'

export function indent(lines: string[], by = '  '): string[] {
  return lines.map((l) => (l === '' ? l : by + l))
}

/** `head stmt` on one line when safe, otherwise a braced block (avoids dangling-else traps). */
function block(head: string, body: string[]): string[] {
  if (body.length === 1 && !body[0]!.startsWith('if ')) return [`${head} ${body[0]}`]
  return [`${head} {`, ...indent(body), '}']
}

function guarded(test: Cond, body: string[]): string[] {
  if (test === false) return []
  if (test === true) return body
  return block(`if (${test})`, body)
}

function combineStatements(test: string, a: string[], b: string[]): string[] {
  if (a.join('\n') === b.join('\n')) return a
  const head = block(`if (${test})`, a)
  const last = head.length > 1 ? head.pop() + ' ' : ''
  return [...head, `${last}else ${b[0]}`, ...b.slice(1)]
}

function combineExpressions(test: string, a: string, b: string): string {
  if (a === b) return a
  return `${test} ? ${a.includes('?') ? `(${a})` : a} : ${b}`
}

/** Replaces a parameter that the body never mentions with an underscore-prefixed name. */
function param(name: string, type: string, body: string[]): string {
  // A property access (`m.version`) or key (`version: ...`) is not a use of the parameter `version`.
  const used = new RegExp(`(?<![.\\w])${name}\\b(?!:)`).test(body.join('\n'))
  return `${used ? '' : '_'}${name}: ${type}`
}

export class StructEmitter {
  readonly schema: MessageSchema
  readonly imports: Imports
  /** Structs whose isDefault function is referenced (tagged struct fields). */
  readonly needsIsDefault = new Set<string>()

  constructor(schema: MessageSchema, imports: Imports) {
    this.schema = schema
    this.imports = imports
  }

  private flexibleRange(f: Field): VersionRange | null {
    return f.flexibleVersions !== undefined ? f.flexibleVersions : this.schema.flexibleVersions
  }

  private noteStructDefaults(f: Field, code: string): void {
    const m = /isDefault(\w+)\(/.exec(code)
    if (m) this.needsIsDefault.add(m[1]!)
    void f
  }

  /**
   * For arrays whose elements are coded the same either way (structs, numbers), flexibility
   * only switches the length prefix, so the flexibility test is passed as the `compact` argument.
   */
  private flagOnlyFlexible(f: Field): boolean {
    const t = f.type
    if (t.kind !== 'array') return false
    return !(t.element.kind === 'primitive' && (t.element.name === 'string' || t.element.name === 'bytes'))
  }

  private flexTest(f: Field, ctx: VersionRange): string {
    return String(cond(this.flexibleRange(f), ctx))
  }

  /** Expression reading f, for callers whose version is within ctx (f present in all of ctx). */
  private readExpr(f: Field, ctx: VersionRange, forceFlexible = false): string {
    // flexible === null: pass the flexibility test (narrowed to each branch) as the compact flag.
    const byNullable = (flexible: string | null) => (c: VersionRange) =>
      choose(
        f.nullableVersions,
        c,
        (c2) => readLeaf(f, flexible ?? this.flexTest(f, c2), true, this.imports),
        (c2) => readLeaf(f, flexible ?? this.flexTest(f, c2), false, this.imports),
        combineExpressions,
      )
    if (forceFlexible) return byNullable('true')(ctx)
    if (this.flagOnlyFlexible(f)) return byNullable(null)(ctx)
    return choose(this.flexibleRange(f), ctx, byNullable('true'), byNullable('false'), combineExpressions)
  }

  private writeStatements(f: Field, v: string, ctx: VersionRange, forceFlexible = false): string[] {
    const byNullable = (flexible: string | null) => (c: VersionRange) =>
      choose(
        f.nullableVersions,
        c,
        (c2) => writeLeaf(f, v, flexible ?? this.flexTest(f, c2), true, this.imports),
        (c2) => writeLeaf(f, v, flexible ?? this.flexTest(f, c2), false, this.imports),
        combineStatements,
      )
    if (forceFlexible) return byNullable('true')(ctx)
    if (this.flagOnlyFlexible(f)) return byNullable(null)(ctx)
    return choose(this.flexibleRange(f), ctx, byNullable('true'), byNullable('false'), combineStatements)
  }

  interfaceCode(s: Struct): string[] {
    const lines = s.fields.map((f) => `  ${f.name}: ${tsType(f)}`)
    return lines.length === 0 ? [`export interface ${s.name} {}`] : [`export interface ${s.name} {`, ...lines, '}']
  }

  defaultCode(s: Struct): string[] {
    const props = s.fields.map((f) => `    ${f.name}: ${defaultExpr(f, this.imports)},`)
    return [`export function default${s.name}(): ${s.name} {`, props.length ? '  return {' : '  return {}', ...props, ...(props.length ? ['  }'] : []), '}']
  }

  decodeCode(s: Struct, ctx: VersionRange): string[] {
    const props: string[] = []
    for (const f of s.fields) {
      const fieldCtx = f.taggedVersions ? null : intersect(f.versions, ctx)
      const dflt = defaultExpr(f, this.imports)
      if (!fieldCtx) {
        props.push(`${f.name}: ${dflt},`)
        continue
      }
      const read = this.readExpr(f, fieldCtx)
      const present = cond(f.versions, ctx)
      props.push(`${f.name}: ${present === true ? read : `${present} ? ${read.includes('?') ? `(${read})` : read} : ${dflt}`},`)
    }
    const tags = this.decodeTaggedCode(s, ctx)
    const literal = props.length ? ['{', ...indent(props), '}'] : ['{}']
    const body =
      tags.length === 0
        ? [`return ${literal[0]}`, ...literal.slice(1)]
        : [`const m: ${s.name} = ${literal[0]}`, ...literal.slice(1), ...tags, 'return m']
    const params = `${param('r', 'Reader', body)}, ${param('version', 'number', body)}`
    return [`export function decode${s.name}(${params}): ${s.name} {`, ...indent(body), '}']
  }

  private decodeTaggedCode(s: Struct, ctx: VersionRange): string[] {
    const flexCtx = intersect(this.schema.flexibleVersions, ctx)
    if (!flexCtx) return []
    const cases: string[] = []
    const tagged = s.fields.filter((f) => f.taggedVersions).sort((a, b) => a.tag! - b.tag!)
    for (const f of tagged) {
      const taggedCtx = intersect(f.taggedVersions, flexCtx)
      if (!taggedCtx) continue
      const assign = `m.${f.name} = ${this.readExpr(f, taggedCtx, true)}`
      cases.push(`case ${f.tag}:`, ...indent(guarded(cond(f.taggedVersions, flexCtx), [assign])), '  break')
    }
    const loop =
      cases.length === 0
        ? ['r.skipTaggedFields()']
        : [
            'for (let n = r.uvarint(); n > 0; n--) {',
            '  const tag = r.uvarint()',
            '  const end = r.tagEnd()',
            '  switch (tag) {',
            ...indent(cases, '    '),
            '  }',
            '  r.finishTag(end)',
            '}',
          ]
    return guarded(cond(this.schema.flexibleVersions, ctx), loop)
  }

  encodeCode(s: Struct, ctx: VersionRange): string[] {
    const body: string[] = []
    for (const f of s.fields) {
      if (f.taggedVersions) continue
      const fieldCtx = intersect(f.versions, ctx)
      if (!fieldCtx) continue
      body.push(...guarded(cond(f.versions, ctx), this.writeStatements(f, `m.${f.name}`, fieldCtx)))
    }
    body.push(...this.encodeTaggedCode(s, ctx))
    const params = `${param('w', 'Writer', body)}, ${param('version', 'number', body)}, ${param('m', s.name, body)}`
    return [`export function encode${s.name}(${params}): void {`, ...indent(body), '}']
  }

  private encodeTaggedCode(s: Struct, ctx: VersionRange): string[] {
    const flexCtx = intersect(this.schema.flexibleVersions, ctx)
    if (!flexCtx) return []
    const counts: string[] = []
    const writes: string[] = []
    const tagged = s.fields.filter((f) => f.taggedVersions).sort((a, b) => a.tag! - b.tag!)
    for (const f of tagged) {
      const taggedCtx = intersect(f.taggedVersions, flexCtx)
      if (!taggedCtx) continue
      const v = `m.${f.name}`
      const present = cond(f.taggedVersions, flexCtx)
      const differs = differsFromDefault(f, v, this.imports)
      this.noteStructDefaults(f, differs)
      const test = present === true ? differs : `${present} && ${differs}`
      const value = this.writeStatements(f, v, taggedCtx, true)
      counts.push(`if (${test}) numTaggedFields++`)
      const lambda = value.length === 1 ? [`w.taggedField(${f.tag}, (w) => ${value[0]})`] : [`w.taggedField(${f.tag}, (w) => {`, ...indent(value), '})']
      writes.push(...block(`if (${test})`, lambda))
    }
    const code = counts.length === 0 ? ['w.uvarint(0)'] : ['let numTaggedFields = 0', ...counts, 'w.uvarint(numTaggedFields)', ...writes]
    return guarded(cond(this.schema.flexibleVersions, ctx), code)
  }

  isDefaultCode(s: Struct): string[] {
    const checks = s.fields.map((f) => {
      const d = differsFromDefault(f, `m.${f.name}`, this.imports)
      this.noteStructDefaults(f, d)
      return `!(${d})`
    })
    const body = checks.length === 0 ? ['return true'] : ['return (', ...indent(checks.map((c, i) => (i < checks.length - 1 ? `${c} &&` : c))), ')']
    return [`export function isDefault${s.name}(${param('m', s.name, body)}): boolean {`, ...indent(body), '}']
  }
}
