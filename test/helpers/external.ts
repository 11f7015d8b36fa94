/**
 * Finding third-party client programs. CI installs them (`.ci/run`); on a machine without
 * them, the tests that need them are skipped with a message saying what to install.
 */
import { spawnSync } from 'node:child_process'

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
