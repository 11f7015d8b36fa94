/**
 * Samsa as a library: `import { Broker } from 'samsa'` starts a real Kafka-compatible broker
 * in-process (port 0, a temporary data folder) — no Docker, no JVM.
 */
export { Broker, type BrokerOptions } from './broker/broker.ts'
export { ConfigError } from './config/broker-config.ts'
