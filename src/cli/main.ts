#!/usr/bin/env node
/**
 * Entry point of the `samsa` command. Turns on Node's compile cache (it also keeps the
 * type-stripped TypeScript), which cuts the start-up of every later run by about a second,
 * then loads the program (program.ts).
 */
import { enableCompileCache } from 'node:module'

try {
  enableCompileCache?.()
} catch {
  // a read-only or missing cache directory only costs start-up time
}
await import('./program.ts')
