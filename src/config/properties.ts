/**
 * Java `.properties` parsing, enough for Kafka's server.properties files:
 * `key=value`, `key: value` and `key value` separators, `#`/`!` comments,
 * backslash line continuations and the usual escapes.
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '')
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    // A line ending in an odd number of backslashes continues on the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '')
    }
    const sep = findSeparator(line)
    const key = unescape(line.slice(0, sep.keyEnd))
    const value = unescape(line.slice(sep.valueStart).replace(/^\s+/, ''))
    out.set(key, value)
  }
  return out
}

function findSeparator(line: string): { keyEnd: number; valueStart: number } {
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '\\') { i++; continue }
    if (c === '=' || c === ':') return { keyEnd: i, valueStart: i + 1 }
    if (c === ' ' || c === '\t') {
      let j = i
      while (j < line.length && (line[j] === ' ' || line[j] === '\t')) j++
      if (line[j] === '=' || line[j] === ':') j++
      return { keyEnd: i, valueStart: j }
    }
  }
  return { keyEnd: line.length, valueStart: line.length }
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16))
    if (e === 't') return '\t'
    if (e === 'n') return '\n'
    if (e === 'r') return '\r'
    if (e === 'f') return '\f'
    return e
  })
}
