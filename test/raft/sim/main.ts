/**
 * Runs the Raft simulator from the command line.
 *
 *   node test/raft/sim/main.ts                  # 1,000 seeds from 1
 *   SEEDS=100000 START=5000 node test/raft/sim/main.ts   # a long soak
 *   SEED=1234 node test/raft/sim/main.ts        # replay one seed, with a trace on failure
 *   PROFILE=chaos SEEDS=500 node test/raft/sim/main.ts
 *   FAULT_MS=10000 LIVENESS_MS=8000 SEED=3 node test/raft/sim/main.ts   # longer phases
 *
 * Exits non-zero on the first failing seed, after printing how to replay it (the seed and every
 * option above that was set: PROFILE, FAULT_MS, LIVENESS_MS).
 */
import process from 'node:process'
import { profileNames } from './profiles.ts'
import type { ProfileName } from './profiles.ts'
import { Simulation, formatFailure } from './simulation.ts'

const env = process.env
const profile = env['PROFILE'] as ProfileName | undefined
if (profile !== undefined && !profileNames.includes(profile)) {
  console.error(`unknown PROFILE ${profile}; one of ${profileNames.join(', ')}`)
  process.exit(2)
}
const ms = (name: string): number | undefined => {
  const v = env[name]
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} must be a positive integer (simulated ms), not ${v}`)
    process.exit(2)
  }
  return n
}
const options = { profile, faultMs: ms('FAULT_MS'), livenessMs: ms('LIVENESS_MS') }

if (env['SEED'] !== undefined) {
  const seed = Number(env['SEED'])
  const r = new Simulation({ seed, ...options, traceLimit: Number(env['TRACE'] ?? 400) }).run()
  if (!r.ok) {
    console.log(formatFailure(r))
    process.exit(1)
  }
  console.log(`seed ${seed} ok (${r.profile.name}):`, r.stats)
} else {
  const start = Number(env['START'] ?? 1)
  const count = Number(env['SEEDS'] ?? 1000)
  const t0 = performance.now()
  const totals = { acked: 0, lost: 0, reads: 0, elections: 0, crashes: 0, messages: 0, confChanges: 0 }
  for (let seed = start; seed < start + count; seed++) {
    const r = new Simulation({ seed, ...options }).run()
    if (!r.ok) {
      // Re-run with a trace so the report shows the last steps before the violation.
      console.log(formatFailure(new Simulation({ seed, ...options, traceLimit: 200 }).run()))
      process.exit(1)
    }
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k]
    if ((seed - start + 1) % 1000 === 0) console.log(`${seed - start + 1} seeds ok`)
  }
  const secs = (performance.now() - t0) / 1000
  console.log(`${count} seeds ok in ${secs.toFixed(1)} s (${(count / secs).toFixed(0)} seeds/s)`, totals)
}
