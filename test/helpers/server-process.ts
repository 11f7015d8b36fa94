/**
 * Runs `samsa server-start` as a child process (the real CLI and server mode), learns its
 * port from the JSON start-up log line, and kills it at teardown whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface ServerProcess {
  readonly child: ChildProcess
  readonly bootstrap: string
  readonly exited: Promise<number | null>
  readonly output: () => string
}

export async function startServerProcess(dir: string, props: Record<string, string | number> = {}): Promise<ServerProcess> {
  const file = join(dir, 'server.properties')
  const all = { 'node.id': 1, listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': join(dir, 'data'), 'samsa.log.format': 'json', 'samsa.shard.workers': 1, ...props }
  writeFileSync(file, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  const child = spawn(process.execPath, [CLI, 'server-start', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000)
    const onData = (d: Buffer): void => {
      out += d
      for (const line of out.split('\n')) {
        if (!line.includes('Samsa broker started')) continue
        const l = JSON.parse(line) as { listeners: { host: string; port: number }[] }
        clearTimeout(timer)
        resolve(`${l.listeners[0]!.host}:${l.listeners[0]!.port}`)
        return
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d: Buffer) => { out += d })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${out}`))
    })
  })
  return { child, bootstrap, exited, output: () => out }
}
