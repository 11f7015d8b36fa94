/**
 * The HTTP side of the metrics: `GET /metrics` answers the registry in Prometheus' text format;
 * anything else is 404 (405 for other methods on /metrics). Bound on `samsa.metrics.listener`;
 * port 0 picks a free port, and `url` names the real one.
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from '../lib/logger.ts'

export class MetricsEndpoint {
  readonly #server: Server
  readonly url: string

  private constructor(server: Server, url: string) {
    this.#server = server
    this.url = url
  }

  static async start(registry: Registry, host: string, port: number, log: Logger): Promise<MetricsEndpoint> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n')
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
        return
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => {
          log.error({ err }, 'collecting metrics failed')
          res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n')
        },
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`samsa.metrics.listener cannot bind ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`, { cause: err }))
      })
      server.listen(port, host === '' ? undefined : host, () => resolve())
    })
    server.on('error', (err) => log.error({ err }, 'metrics endpoint error'))
    const address = server.address()
    const bound = typeof address === 'object' && address !== null ? address.port : port
    const shown = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    return new MetricsEndpoint(server, `http://${shown}:${bound}/metrics`)
  }

  /** Stops listening and drops open scrape connections (a Prometheus server keeps them alive). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections()
    })
  }
}
