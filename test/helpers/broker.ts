/**
 * Test helpers: start a real in-process broker and always stop it.
 */
import type { Test } from 'tap'
import { Broker, type BrokerOptions } from '../../src/index.ts'

export async function startBroker(t: Test, options: BrokerOptions = {}): Promise<Broker> {
  const broker = await Broker.start(options)
  t.teardown(() => broker.stop())
  return broker
}
