/**
 * Entry point of a coordinator worker thread: the group coordinator actor
 * (src/coordinator/coordinator-actor.ts) on a router whose default route is the port link to
 * the broker's main router. Everything it needs from the broker (appends to and reads of
 * __consumer_offsets) it asks through that router.
 */
import { workerData } from 'node:worker_threads'
import { forwardingLogger, LOG_ACTOR } from '../src/lib/forwarded-logger.ts'
import { CoordinatorActor } from '../src/coordinator/coordinator-actor.ts'
import type { CoordinatorWorkerData } from '../src/coordinator/actor-protocol.ts'
import { PortLink } from '../src/router/port-link.ts'
import { Router } from '../src/router/router.ts'

const data = workerData as CoordinatorWorkerData
const router = new Router({ node: data.nodeId, name: 'coordinator' })
router.routeDefault(new PortLink('main', data.hub))
// Log lines go to the broker's logger on the main thread (actor LOG_ACTOR there).
const logger = forwardingLogger(data.logLevel, 'group-coordinator', (line) => router.tell({ node: data.nodeId, actor: LOG_ACTOR }, line))
new CoordinatorActor({ router, config: data.config, logger })
// The link's port keeps this thread alive; when the main thread closes it, the thread ends.
