import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the probe server asks the operator. */
export interface ProbeChecks {
  /** Liveness: the process is not wedged (event loop runs, informers not stopped for good). */
  healthy(): boolean | Promise<boolean>;
  /** Readiness: caches synced (a standby replica without the lease is ready too). */
  ready(): boolean | Promise<boolean>;
}

/** `/healthz`, `/readyz` and `/metrics` on one port (0.0.0.0 in a pod, 127.0.0.1 by default). */
export async function startProbeServer(options: { port: number; host?: string; registry: Registry; checks: ProbeChecks; beforeMetrics?: () => void }): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async () => {
      if (path === '/healthz' || path === '/livez') {
        const ok = await options.checks.healthy();
        res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'unhealthy');
      } else if (path === '/readyz') {
        const ok = await options.checks.ready();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
      } else if (path === '/metrics') {
        options.beforeMetrics?.();
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    };
    answer().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String((error as Error).message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of probe and scrape clients would hold close() open.
        server.closeAllConnections();
      }),
  };
}
