/**
 * Planning topic config changes: AlterConfigs replaces the whole override set (removed keys
 * become null ConfigRecords), IncrementalAlterConfigs changes single keys (APPEND/SUBTRACT on
 * list keys from the effective value), validation answers values, and an unchanged config plans
 * no records at all. Plans are applied to an image to check the result.
 */
import t from 'tap'
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from '../../../src/metadata/image.ts'
import { CONFIG_OP, planIncrementalTopicConfigs, planReplaceTopicConfigs, type Plan } from '../../../src/metadata/controller.ts'
import type { MetadataRecord } from '../../../src/metadata/records.ts'

function withRecords(records: MetadataRecord[], base: MetadataImage): MetadataImage {
  return applyRecords(base, records.map((record, i) => ({ offset: base.offset + 1 + i, record })))
}
function apply(image: MetadataImage, plan: Plan): MetadataImage {
  if ('error' in plan) throw new Error(plan.message)
  return withRecords(plan.records, image)
}
const configs = (image: MetadataImage) => Object.fromEntries(image.topicConfigs.get('t') ?? [])
const defaults = new Map([['cleanup.policy', 'delete']])

const base = withRecords([
  { type: 'Topic', name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
  { type: 'Config', resourceType: 2, resourceName: 't', name: 'retention.ms', value: '1000' },
  { type: 'Config', resourceType: 2, resourceName: 't', name: 'segment.bytes', value: '4096' },
], EMPTY_IMAGE)

t.test('AlterConfigs replaces the whole set', async (t) => {
  const plan = planReplaceTopicConfigs(base, 't', [{ name: 'segment.bytes', value: '4096' }, { name: 'max.message.bytes', value: '2000' }])
  t.same(plan, { records: [
    { type: 'Config', resourceType: 2, resourceName: 't', name: 'retention.ms', value: null },
    { type: 'Config', resourceType: 2, resourceName: 't', name: 'max.message.bytes', value: '2000' },
  ] }, 'only the differences: a removal and an addition (segment.bytes is unchanged)')
  t.same(configs(apply(base, plan)), { 'segment.bytes': '4096', 'max.message.bytes': '2000' })
  t.same(planReplaceTopicConfigs(base, 't', [{ name: 'retention.ms', value: '1000' }, { name: 'segment.bytes', value: '4096' }]), { records: [] }, 'unchanged: nothing to commit')
  t.same(configs(apply(base, planReplaceTopicConfigs(base, 't', []))), {}, 'an empty set removes every override')
  t.match(planReplaceTopicConfigs(base, 'nope', []), { error: 'unknown_topic_or_partition' })
  t.match(planReplaceTopicConfigs(base, 't', [{ name: 'a.b', value: '1' }]), { error: 'invalid_config', message: /Unknown topic config name: a\.b/ })
  t.match(planReplaceTopicConfigs(base, 't', [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }]), { error: 'invalid_request', message: /duplicate/ })
  t.match(planReplaceTopicConfigs(base, 't', [{ name: 'retention.ms', value: '-2' }]), { error: 'invalid_config', message: /retention\.ms.*at least -1/ })
  t.same(planReplaceTopicConfigs(base, 't', [{ name: 'flush.ms', value: null }]), { error: 'invalid_request', message: 'Null value not supported for : flush.ms' }, 'a null value is refused (KAFKA-9695), not read as a removal')
})

t.test('IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT', async (t) => {
  let image = apply(base, planIncrementalTopicConfigs(base, 't', [
    { name: 'retention.ms', op: CONFIG_OP.DELETE, value: null },
    { name: 'cleanup.policy', op: CONFIG_OP.APPEND, value: 'compact' },
    { name: 'max.message.bytes', op: CONFIG_OP.SET, value: '5000' },
  ], defaults))
  t.same(configs(image), { 'segment.bytes': '4096', 'cleanup.policy': 'delete,compact', 'max.message.bytes': '5000' })
  image = apply(image, planIncrementalTopicConfigs(image, 't', [{ name: 'cleanup.policy', op: CONFIG_OP.APPEND, value: 'compact,delete' }], defaults))
  t.equal(configs(image)['cleanup.policy'], 'delete,compact', 'APPEND adds only what is missing')
  image = apply(image, planIncrementalTopicConfigs(image, 't', [{ name: 'cleanup.policy', op: CONFIG_OP.SUBTRACT, value: 'delete' }], defaults))
  t.equal(configs(image)['cleanup.policy'], 'compact')
  t.same(planIncrementalTopicConfigs(image, 't', [{ name: 'no.such.key', op: CONFIG_OP.DELETE, value: null }], defaults), { records: [] }, 'deleting an unset key is a no-op')
  t.match(planIncrementalTopicConfigs(image, 't', [{ name: 'retention.ms', op: CONFIG_OP.APPEND, value: '5' }], defaults),
    { error: 'invalid_config', message: "Can't APPEND to key retention.ms because its type is not LIST." })
  t.match(planIncrementalTopicConfigs(image, 't', [{ name: 'cleanup.policy', op: CONFIG_OP.APPEND, value: 'shred' }], defaults), { error: 'invalid_config' })
  t.match(planIncrementalTopicConfigs(image, 't', [{ name: 'retention.ms', op: CONFIG_OP.SET, value: null }], defaults), { error: 'invalid_request', message: /Null value/ })
  t.match(planIncrementalTopicConfigs(image, 't', [{ name: 'retention.ms', op: 7, value: '1' }], defaults), { error: 'invalid_request' })
  t.match(planIncrementalTopicConfigs(image, 't', [{ name: 'message.timestamp.type', op: CONFIG_OP.SET, value: 'LogAppendTime' }, { name: 'segment.ms', op: CONFIG_OP.SET, value: '0' }], defaults),
    { error: 'invalid_config', message: /segment\.ms/ }, 'one bad key refuses the whole resource')
})
