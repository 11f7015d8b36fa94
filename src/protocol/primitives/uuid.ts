/**
 * Kafka UUIDs (topic ids, directory ids, incarnation ids).
 *
 * On the wire a UUID is 16 bytes; Kafka prints it as 22 characters of unpadded
 * base64url (`Uuid.toString`). Two values are reserved: the zero UUID means "none",
 * and `AAAAAAAAAAAAAAAAAAAAAQ` (1) is the metadata topic's id, so neither is ever
 * handed out by randomUuid().
 */
import { randomBytes } from 'node:crypto'

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'
export const METADATA_TOPIC_UUID = 'AAAAAAAAAAAAAAAAAAAAAQ'

export class InvalidUuidError extends Error {
  override name = 'InvalidUuidError'
}

const UUID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/

export function isValidUuid(s: string): boolean {
  return UUID_PATTERN.test(s)
}

/** The 16 bytes at buf[offset..offset+16) as Kafka's string form. */
export function uuidFromBytes(buf: Buffer, offset = 0): string {
  return buf.toString('base64url', offset, offset + 16)
}

/** Writes the 16 bytes of `s` into buf at offset; throws InvalidUuidError for anything but a 22-char id. */
export function writeUuidBytes(s: string, buf: Buffer, offset: number): void {
  // The last character carries only 2 significant bits: A/Q/g/w are the only canonical ones.
  if (!UUID_PATTERN.test(s)) throw new InvalidUuidError(`not a Kafka UUID: ${JSON.stringify(s)}`)
  buf.write(s, offset, 16, 'base64url')
}

export function uuidToBytes(s: string): Buffer {
  const out = Buffer.alloc(16)
  writeUuidBytes(s, out, 0)
  return out
}

/** A random version-4 UUID that is neither zero nor the reserved metadata topic id. */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16)
    b[6] = (b[6]! & 0x0f) | 0x40
    b[8] = (b[8]! & 0x3f) | 0x80
    const s = uuidFromBytes(b)
    // The version/variant bits make both reserved values impossible, and Kafka also
    // refuses ids starting with '-' (they look like command-line flags).
    if (s !== ZERO_UUID && s !== METADATA_TOPIC_UUID && !s.startsWith('-')) return s
  }
}

/** The canonical dashed hex form (8-4-4-4-12), for logs and directory names. */
export function uuidToHex(s: string): string {
  const h = uuidToBytes(s).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
