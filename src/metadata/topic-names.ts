/**
 * Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
 * Names that differ only in '.' versus '_' collide in metric names, so Kafka refuses the second.
 */
const LEGAL = /^[a-zA-Z0-9._-]+$/
export const TOPIC_NAME_MAX_LENGTH = 249

export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty'
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`
  if (name.length > TOPIC_NAME_MAX_LENGTH) return `Topic name is longer than ${TOPIC_NAME_MAX_LENGTH} characters`
  if (!LEGAL.test(name)) return `Topic name "${name}" is illegal: it contains a character other than ASCII alphanumerics, '.', '_' and '-'`
  return null
}

export function collisionKey(name: string): string {
  return name.replaceAll('.', '_')
}

export function isInternalTopic(name: string): boolean {
  return name === '__consumer_offsets' || name === '__transaction_state'
}
