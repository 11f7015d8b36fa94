/**
 * Entry point of a shard worker thread: wires the worker's ports to a ShardHost. All logic is in
 * src/runtime/shard-host.ts (testable without threads). The data path arrives on parentPort; the
 * comlink control channel is the MessagePort passed in workerData.
 */
/// <reference path="../src/types/comlink-node-adapter.d.ts" />
import { parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { assert } from '../src/lib/assert.ts'
import type { ShardWorkerData, ToShard } from '../src/runtime/protocol.ts'
import { ShardHost } from '../src/runtime/shard-host.ts'

const port = parentPort
assert(port !== null, 'shard-worker.ts must run in a worker thread')
const data = workerData as ShardWorkerData
const host = new ShardHost({
  shard: data.shard, maxOpenFiles: data.maxOpenFiles, testDelayMs: data.testDelayMs,
  post: (msg, transfer) => port.postMessage(msg, transfer),
})
port.on('message', (msg: ToShard) => host.handleMessage(msg))
Comlink.expose(host.control, nodeEndpoint(data.control))
