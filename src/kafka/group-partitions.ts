/**
 * The partitions of a group request (OffsetCommit, OffsetDelete) answered per partition: those
 * of topics or partitions this broker's image does not know get UNKNOWN_TOPIC_OR_PARTITION at
 * once; the known ones go to the coordinator, whose per-partition errors are set back on the
 * same response slots (`setErrors`).
 */
import type { MetadataImage } from '../metadata/image.ts'
import { topicByName } from '../metadata/image.ts'
import { ErrorCode, errorCode, type InternalError } from './error-map.ts'

export interface PartitionSlot {
  readonly partitionIndex: number
  errorCode: number
}

export interface KnownPartition<P> {
  readonly topic: string
  readonly partition: number
  /** The request's entry for this partition. */
  readonly request: P
}

export function groupPartitions<P extends { readonly partitionIndex: number }>(
  image: MetadataImage,
  topics: readonly { readonly name: string; readonly partitions: readonly P[] }[],
): {
  readonly response: { name: string; partitions: PartitionSlot[] }[]
  readonly known: KnownPartition<P>[]
  setErrors(results: readonly { topic: string; partition: number; error: InternalError | null }[]): void
} {
  const slots = new Map<string, PartitionSlot>()
  const known: KnownPartition<P>[] = []
  const response = topics.map((t) => {
    const topic = topicByName(image, t.name)
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const slot: PartitionSlot = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE }
        if (!topic || !topic.partitions[p.partitionIndex]) slot.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else {
          slots.set(`${t.name}\u0000${p.partitionIndex}`, slot)
          known.push({ topic: t.name, partition: p.partitionIndex, request: p })
        }
        return slot
      }),
    }
  })
  const setErrors = (results: readonly { topic: string; partition: number; error: InternalError | null }[]): void => {
    for (const r of results) {
      const slot = slots.get(`${r.topic}\u0000${r.partition}`)
      if (slot && r.error) slot.errorCode = errorCode(r.error)
    }
  }
  return { response, known, setErrors }
}
