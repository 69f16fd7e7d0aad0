import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A handler of the fake API server; return false to fall through to 404. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => boolean | void | Promise<boolean | void>;

/**
 * A plain HTTP server playing the API server in unit tests: routes answer JSON, `hang` makes every
 * new request wait forever (accepted, never answered) — the failure a dead or partitioned API
 * server shows a client — and `requests` records what was asked.
 */
export class FakeApiServer {
  hang = false;
  readonly requests: { method: string; path: string; query: string }[] = [];
  private readonly routes: Route[] = [];
  private readonly held = new Set<ServerResponse>();
  private server: Server | undefined;

  /** Add a route; the first that answers wins. */
  route(handler: Route): this {
    this.routes.push(handler);
    return this;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search });
    let body = '';
    for await (const chunk of req) body += String(chunk);
    if (this.hang) {
      this.held.add(res);
      return;
    }
    for (const route of this.routes) if ((await route(req, res, url, body)) !== false && res.headersSent) return;
    json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: `${url.pathname} not found` });
  }
}

/** Answer JSON. */
export function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
