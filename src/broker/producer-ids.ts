/**
 * Hands out producer ids to InitProducerId, from blocks the controller records in the metadata
 * log (ProducerIdsRecord), so an id is never given twice, across restarts too.
 */
import type { ControllerError } from '../metadata/controller.ts'
import type { ControllerService } from './controller-service.ts'

export class ProducerIdService {
  readonly #controller: ControllerService
  readonly #brokerId: number
  readonly #brokerEpoch: () => number
  #next = 0
  #end = 0
  #refill: Promise<void> | null = null

  constructor(controller: ControllerService, brokerId: number, brokerEpoch: () => number) {
    this.#controller = controller
    this.#brokerId = brokerId
    this.#brokerEpoch = brokerEpoch
  }

  async allocate(): Promise<{ producerId: number } | { error: ControllerError | 'not_controller' }> {
    while (this.#next >= this.#end) {
      this.#refill ??= this.#fetchBlock().finally(() => { this.#refill = null })
      const err = await this.#refill.then(() => null, (e: { error: ControllerError | 'not_controller' }) => e)
      if (err) return { error: err.error }
    }
    return { producerId: this.#next++ }
  }

  async #fetchBlock(): Promise<void> {
    const block = await this.#controller.allocateProducerIdBlock(this.#brokerId, this.#brokerEpoch())
    if ('error' in block) throw block
    this.#next = block.firstId
    this.#end = block.firstId + block.count
  }
}
