/**
 * Hostile-but-realistic load on the local KServe v2 server, in numbers:
 *
 *   node --import tsx operator/local/serve/stress.ts --repository DIR --model NAME [--tree DIR]
 *
 * starts the server of `--tree` (default: this checkout; point it at an older checkout to compare) in
 * a child process, then measures (1) the latency of small requests, alone and while one 100,000-row
 * request is sent, and (2) the server's RSS while eight clients each send a 30 MB body, its peak, and
 * its RSS once idle again. Prints one JSON object. `--max-rows N` raises the server's rows-per-request
 * cap (default: max_batch_size); `--shape n` sends [N] instead of Triton's [N, 1] (for older servers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from './load.js';

interface Reply {
  status: number;
  ms: number;
  error?: string;
}

/** POST a body and time the answer (status 0: the connection failed). */
function post(agent: Agent, url: string, body: string | Buffer, timeoutMs = 600_000): Promise<Reply> {
  const start = performance.now();
  const u = new URL(url);
  return new Promise((done) => {
    const req = request({ agent, hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', timeout: timeoutMs,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, ms: performance.now() - start, ...(res.statusCode !== 200 ? { error: Buffer.concat(chunks).toString('utf8').slice(0, 200) } : {}) }));
    });
    req.on('error', (e) => done({ status: 0, ms: performance.now() - start, error: e.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** Resident and peak memory of a process (Linux /proc), in MiB. */
function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start the server of a checkout in a child process; resolves with its URL. */
async function startChild(tree: string, repositoryDir: string, model: string, extra: Record<string, unknown>): Promise<{ child: ChildProcess; url: string }> {
  const server = join(tree, 'operator', 'local', 'serve', 'server.ts');
  const code = `const { startServer } = await import(${JSON.stringify(server)});
    const s = await startServer({ repositoryDir: ${JSON.stringify(repositoryDir)}, model: ${JSON.stringify(model)}, port: 0, ...${JSON.stringify(extra)} });
    process.stdout.write(s.url + '\\n'); process.on('SIGTERM', () => s.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: tree, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.once('data', (d: Buffer) => done(d.toString().trim()));
    child.once('exit', (c) => fail(new Error(`server exited with ${c}`)));
  });
  return { child, url };
}

const body = (rows: string[], shape: number[]) => JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape, data: rows }] });

/** Small requests at `rate` per second until `until` resolves (or `ms` passed); their latencies. */
async function smallRequests(url: string, shape: number[], rate: number, until: Promise<unknown>, ms: number): Promise<Reply[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const replies: Promise<Reply>[] = [];
  let done = false;
  void until.then(() => (done = true));
  const end = performance.now() + ms;
  while (!done && performance.now() < end) {
    replies.push(post(agent, url, body(['win a free cruise, reply now'], shape), 120_000));
    await sleep(1000 / rate);
  }
  const out = await Promise.all(replies);
  agent.destroy();
  return out;
}

function summary(replies: Reply[]) {
  const ok = replies.filter((r) => r.status === 200).map((r) => r.ms).sort((a, b) => a - b);
  return { requests: replies.length, ok: ok.length, p50Ms: Math.round(percentile(ok, 50) * 10) / 10, p99Ms: Math.round(percentile(ok, 99) * 10) / 10, maxMs: Math.round((ok.at(-1) ?? 0) * 10) / 10,
    statuses: [...new Set(replies.map((r) => r.status))] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repository: { type: 'string' }, model: { type: 'string', default: 'spam' }, tree: { type: 'string', default: '.' }, shape: { type: 'string', default: 'n1' },
    'max-rows': { type: 'string' } } });
  const tree = resolve(values.tree);
  const { child, url } = await startChild(tree, resolve(values.repository!), values.model, values['max-rows'] ? { maxRowsPerRequest: Number(values['max-rows']) } : {});
  const infer = `${url}/v2/models/${values.model}/infer`;
  // Triton's shape for a batched dims-[1] input is [N, 1]; older local servers took [N].
  const shape = (n: number) => (values.shape === 'n1' ? [n, 1] : [n]);
  const pid = child.pid!;
  try {
    await sleep(500);
    const idleBefore = memoryMiB(pid);
    const alone = await smallRequests(infer, shape(1), 20, sleep(5000), 5000);

    // (1) One 100,000-row request (short texts, under 1 MB) while small requests keep arriving.
    const rows = Array.from({ length: 100_000 }, (_, i) => `promo ${i % 997}: save ${i % 50}% today`);
    const bigBody = body(rows, shape(rows.length));
    const big = post(new Agent(), infer, bigBody);
    const during = await smallRequests(infer, shape(1), 20, big, 60_000);
    const bigReply = await big;

    // (2) Eight concurrent 30 MB bodies (32 raw emails of 937 KB each: one full batch), RSS sampled every 100 ms.
    const heavyRow = 'Dear customer, your order has shipped. '.repeat(24_000).slice(0, 937_000);
    const heavy = body(Array.from({ length: 32 }, () => heavyRow), shape(32));
    let peak = 0;
    let sampling = true;
    const sampler = (async () => { while (sampling) { peak = Math.max(peak, memoryMiB(pid).rss); await sleep(100); } })();
    const agent = new Agent({ keepAlive: false, maxSockets: 16 });
    const heavyReplies = await Promise.all(Array.from({ length: 8 }, () => post(agent, infer, heavy)));
    sampling = false;
    await sampler;
    await sleep(5000);
    const idle5 = memoryMiB(pid);
    await sleep(25_000);
    const idle30 = memoryMiB(pid);
    const statuses = heavyReplies.reduce<Record<number, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {});
    process.stdout.write(`${JSON.stringify({
      tree,
      idleRssMiB: Math.round(idleBefore.rss),
      smallAlone: summary(alone),
      bigRequest: { rows: rows.length, bytes: Buffer.byteLength(bigBody), status: bigReply.status, seconds: Math.round(bigReply.ms / 100) / 10, error: bigReply.error },
      smallDuringBig: summary(during),
      heavyBodies: { count: 8, bytesEach: Buffer.byteLength(heavy), statuses, peakRssMiB: Math.round(peak), vmHwmMiB: Math.round(idle30.hwm), idleRssAfter5sMiB: Math.round(idle5.rss), idleRssAfter30sMiB: Math.round(idle30.rss),
        firstError: heavyReplies.find((r) => r.error)?.error },
    }, null, 2)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
