/**
 * AlterConfigs and IncrementalAlterConfigs, per resource: checks the resource, plans the
 * ConfigRecords (src/metadata/controller.ts) and commits them through the controller. A failed
 * resource is an error code and message; the other resources of the request still apply.
 *
 * Only topic configs are alterable: Samsa has no dynamic broker configs (a broker resource is
 * answered INVALID_REQUEST, naming server.properties as the place to set them).
 */
import { planIncrementalTopicConfigs, planReplaceTopicConfigs, type ConfigOp, type Plan } from '../metadata/controller.ts'
import type { MetadataImage } from '../metadata/image.ts'
import { RESOURCE_TYPE } from '../metadata/records.ts'
import { ErrorCode, errorCode } from '../kafka/error-map.ts'
import type { BrokerServices } from '../kafka/request-context.ts'
import { describeTopicConfigs } from './describe-configs.ts'

export interface AlterOutcome {
  errorCode: number
  errorMessage: string | null
}

export interface ResourceRequest {
  resourceType: number
  resourceName: string
}

/** Kafka refuses a request naming one resource twice: every copy of it gets INVALID_REQUEST. */
/**
 * Both AlterConfigs forms, per resource in request order: a resource named twice gets
 * INVALID_REQUEST (every occurrence, as Kafka), the others go through `alterOne`.
 */
export async function alterEachResource<R extends ResourceRequest>(
  resources: readonly R[], alterOne: (res: R) => Promise<AlterOutcome>,
): Promise<(AlterOutcome & { resourceType: number; resourceName: string })[]> {
  const duplicates = duplicateResources(resources)
  const responses = []
  for (const res of resources) {
    const base = { resourceType: res.resourceType, resourceName: res.resourceName }
    if (duplicates.has(resourceId(res))) responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate resource in the request' })
    else responses.push({ ...base, ...(await alterOne(res)) })
  }
  return responses
}

function duplicateResources(resources: readonly ResourceRequest[]): Set<string> {
  const seen = new Set<string>()
  const dup = new Set<string>()
  for (const r of resources) {
    const id = resourceId(r)
    if (seen.has(id)) dup.add(id)
    seen.add(id)
  }
  return dup
}

function resourceId(r: ResourceRequest): string {
  return `${r.resourceType}:${r.resourceName}`
}

async function alter(broker: BrokerServices, res: ResourceRequest, plan: (image: MetadataImage) => Plan, validateOnly: boolean): Promise<AlterOutcome> {
  if (res.resourceType === RESOURCE_TYPE.BROKER) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Samsa has no dynamic broker configs; set broker configs in server.properties and restart' }
  }
  if (res.resourceType !== RESOURCE_TYPE.TOPIC) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${res.resourceType}` }
  }
  const outcome = await broker.controller.alterConfigs(plan, validateOnly)
  if ('error' in outcome) return { errorCode: errorCode(outcome.error), errorMessage: outcome.message }
  return { errorCode: ErrorCode.NONE, errorMessage: null }
}

/** AlterConfigs: the entries become the resource's whole override set. */
export function replaceConfigs(broker: BrokerServices, res: ResourceRequest, entries: readonly { name: string; value: string | null }[], validateOnly: boolean): Promise<AlterOutcome> {
  return alter(broker, res, (image) => planReplaceTopicConfigs(image, res.resourceName, entries), validateOnly)
}

/** IncrementalAlterConfigs: single-key operations; APPEND/SUBTRACT start from the effective value (the broker default when unset). */
export function incrementalConfigs(broker: BrokerServices, res: ResourceRequest, ops: readonly ConfigOp[], validateOnly: boolean): Promise<AlterOutcome> {
  const defaults = new Map<string, string>()
  for (const c of describeTopicConfigs(broker.config, undefined, ops.map((o) => o.name))) {
    if (c.value !== null) defaults.set(c.name, c.value)
  }
  return alter(broker, res, (image) => planIncrementalTopicConfigs(image, res.resourceName, ops, defaults), validateOnly)
}
