import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the API server that can freeze: every connection stays open but no byte
 * moves any more, and new connections are accepted and then ignored. That is what a client sees of
 * a hung API server or a network partition — calls that neither answer nor fail — the case a
 * leader's renew deadline exists for.
 */
export class FreezableProxy {
  private server: Server | undefined;
  private frozen = false;
  private readonly pairs = new Set<[Socket, Socket | undefined]>();

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listen on a free loopback port; resolves to it. */
  async start(): Promise<number> {
    this.server = createServer((client) => {
      const pair: [Socket, Socket | undefined] = [client, undefined];
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      client.on('error', () => undefined);
      if (this.frozen) return void client.pause();
      const upstream = connect(this.target.port, this.target.host);
      pair[1] = upstream;
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Stop moving bytes, on every connection, without closing any. */
  freeze(): void {
    this.frozen = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  async stop(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
