/**
 * DescribeConfigs (key 32), versions 1–4: topic configs (overrides, broker synonyms, defaults)
 * and this broker's static configs. Resource type 2 = topic, 4 = broker.
 */
import { decodeDescribeConfigsRequest, type DescribeConfigsRequest } from '../../protocol/messages/describe-configs-request.ts'
import { encodeDescribeConfigsResponse, type DescribeConfigsResponse, type DescribeConfigsResult } from '../../protocol/messages/describe-configs-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode } from '../error-map.ts'
import { describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from '../../broker/describe-configs.ts'
import { topicByName } from '../../metadata/image.ts'
import { validateTopicName } from '../../metadata/topic-names.ts'
import { RESOURCE_TYPE } from '../../metadata/records.ts'

export default defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: 32, name: 'DescribeConfigs', minVersion: 1, maxVersion: 4,
  decode: decodeDescribeConfigsRequest,
  encode: encodeDescribeConfigsResponse,
  handle(ctx, req) {
    const image = ctx.broker.image()
    const results = req.resources.map((res): DescribeConfigsResult => {
      const base = { errorCode: ErrorCode.NONE, errorMessage: null as string | null, resourceType: res.resourceType, resourceName: res.resourceName }
      let configs: DescribedConfig[]
      // An empty key list asks for every key, as null does (Kafka's ConfigHelper filter).
      const keys = res.configurationKeys === null || res.configurationKeys.length === 0 ? null : res.configurationKeys
      if (res.resourceType === RESOURCE_TYPE.TOPIC) {
        const invalid = validateTopicName(res.resourceName)
        if (invalid !== null) return { ...base, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: invalid, configs: [] }
        if (!topicByName(image, res.resourceName)) {
          return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${res.resourceName} does not exist`, configs: [] }
        }
        configs = describeTopicConfigs(ctx.broker.config, image.topicConfigs.get(res.resourceName), keys)
      } else if (res.resourceType === RESOURCE_TYPE.BROKER) {
        if (res.resourceName !== '' && res.resourceName !== String(ctx.broker.nodeId)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id, expected ${ctx.broker.nodeId} or empty string, but received ${res.resourceName}`, configs: [] }
        }
        // The cluster-wide default resource ('') holds only dynamic defaults, which Samsa does not have.
        configs = res.resourceName === '' ? [] : describeBrokerConfigs(ctx.broker.config, keys)
      } else {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${res.resourceType}`, configs: [] }
      }
      return {
        ...base,
        configs: configs.map((c) => ({
          name: c.name, value: c.value, readOnly: c.readOnly, isDefault: c.configSource === 5, configSource: c.configSource,
          isSensitive: c.isSensitive, synonyms: req.includeSynonyms ? c.synonyms : [], configType: c.configType,
          documentation: req.includeDocumentation ? c.documentation : null,
        })),
      }
    })
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), results }
  },
})
