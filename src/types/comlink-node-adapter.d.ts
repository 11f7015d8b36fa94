/**
 * comlink ships `node-adapter.d.ts` beside `node-adapter.mjs`, but under
 * `moduleResolution: nodenext` TypeScript looks for `node-adapter.d.mts` for an `.mjs`
 * specifier and finds nothing. This restates the adapter's (tiny) public type.
 */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink'

  /** The subset of a worker_threads MessagePort / Worker / parentPort the adapter uses. */
  export interface NodeEndpoint {
    postMessage(message: any, transfer?: any[]): void
    on(type: string, listener: (...args: any[]) => void, options?: {}): void
    off(type: string, listener: (...args: any[]) => void, options?: {}): void
    start?: () => void
  }

  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint
}
