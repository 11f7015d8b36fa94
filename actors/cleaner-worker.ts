/**
 * A piscina task: one log-compaction pass (src/storage/log-cleaner.ts) over rolled segments a
 * partition actor handed over. Stateless: it reads the segment files by path, writes and fsyncs
 * `.cleaned` files next to them and answers what it wrote; the actor does the renames. Runs on
 * the process's cleaner pool (src/runtime/cleaner-pool.ts), never on a thread serving requests.
 */
import { runCleanJob, type CleanJob, type CleanResult } from '../src/storage/log-cleaner.ts'

export default function clean(job: CleanJob): CleanResult | null {
  return runCleanJob(job)
}
