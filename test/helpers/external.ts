/**
 * Finding third-party client programs. CI installs them (`.ci/run`); on a machine without
 * them, the tests that need them are skipped with a message saying what to install.
 */
import { spawn, spawnSync } from 'node:child_process'

export function hasKcat(): boolean {
  return spawnSync('kcat', ['-V'], { encoding: 'utf8' }).status === 0
}

/** A python3 that can import confluent_kafka (Debian's package installs into the system python). */
export function confluentPython(): string | null {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(candidate, ['-c', 'import confluent_kafka'], { encoding: 'utf8' })
    if (r.status === 0) return candidate
  }
  return null
}

export interface ProcessResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion with `input` on stdin; killed after `timeoutMs` so a test never hangs. */
export function runProcess(cmd: string, args: readonly string[], o: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    p.stdin.end(o.input ?? '')
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => { stdout += d })
    p.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000)
    p.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
