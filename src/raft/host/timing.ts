/**
 * Timing defaults of a Raft node driven by a real clock (RaftHost, RaftWorkerHandle), chosen
 * from measurement: docs/raft.md, "Timeouts, from measurement" (numbers from
 * bench/raft-commit.bench.ts). They live here, with the host, and not in the core's RaftConfig:
 * the core counts ticks and never knows how long one is, and a tick count only means something
 * together with the tick interval the host's timer uses (the simulator and the unit tests pick
 * their own, much shorter, for speed).
 *
 * Worst worker stall measured ~110 ms; the heartbeat (100 ms) is ~4× the worker's p99 stall, and
 * the smallest election timeout (1 s; randomized in [1 s, 2 s)) is ~9× the worst stall plus a
 * heartbeat. KRaft's default election timeout is 1 s too.
 */

/** Interval of the host's tick timer, in ms. */
export const DEFAULT_TICK_MS = 50
/** A leader heartbeats every 2 ticks (100 ms). */
export const DEFAULT_HEARTBEAT_TICKS = 2
/** A follower campaigns after [20, 40) ticks (1–2 s) without a leader. */
export const DEFAULT_ELECTION_TICKS = 20

export interface RaftTiming {
  readonly tickMs: number
  readonly heartbeatTicks: number
  readonly electionTicks: number
}

export const DEFAULT_TIMING: RaftTiming = Object.freeze({
  tickMs: DEFAULT_TICK_MS,
  heartbeatTicks: DEFAULT_HEARTBEAT_TICKS,
  electionTicks: DEFAULT_ELECTION_TICKS,
})

/** `t` with every setting it leaves out taken from the defaults. */
export function resolveTiming(t: Partial<RaftTiming> = {}): RaftTiming {
  return {
    tickMs: t.tickMs ?? DEFAULT_TICK_MS,
    heartbeatTicks: t.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
    electionTicks: t.electionTicks ?? DEFAULT_ELECTION_TICKS,
  }
}
