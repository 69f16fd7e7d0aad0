import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { CancelledError, MicroBatcher, QueueFullError } from './batcher.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { HttpError } from './protocol.js';
import { loadRepository, type RepositoryModel } from './repository.js';
import { loadServedModel } from './served.js';

/** Request bodies up to this size are accepted (batches of raw emails are large). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** The Triton model repository written by the conversion job. */
  repositoryDir: string;
  /** Model name (a folder of the repository). */
  model: string;
  /** Defaults to 127.0.0.1: the server is only reachable from this machine unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxBodyBytes?: number;
  /**
   * Request bytes held at once, over all requests being read, parsed or predicted (default twice
   * `maxBodyBytes`). A request that would go past it is answered 429, so memory stays bounded.
   */
  maxBytesInFlight?: number;
  /**
   * Rows one request may carry. Default: the model's `max_batch_size`, as Triton enforces; a larger
   * value (local use only) splits requests into batches the model takes, interleaved with others.
   */
  maxRowsPerRequest?: number;
  /** Rows allowed to wait for a batch over all requests (default 64 × max_batch_size); past it, 429. */
  maxQueuedRows?: number;
  /** Threads per model run (onnxruntime intra-op). */
  intraOpThreads?: number;
  /** Overrides of config.pbtxt's batching. */
  maxBatchSize?: number;
  queueDelayUs?: number;
  instances?: number;
}

/** A running server. */
export interface RunningServer {
  url: string;
  model: RepositoryModel;
  metrics: ServeMetrics;
  /** Request bytes currently held (see {@link ServeOptions.maxBytesInFlight}). */
  bytesInFlight(): number;
  close(): Promise<void>;
}

/** What a route answers: JSON, or a binary-extension body. */
export interface Answer {
  route: string;
  status: number;
  body: unknown;
  binary?: { body: Buffer; headerLength?: number };
  headers?: Record<string, string>;
}

/** HTTP status recorded for a client that went away before its answer (nginx's "client closed request"). */
export const CLIENT_CLOSED = 499;

/** Write an answer (JSON or binary extension) unless the response is gone. */
export function send(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  if (answer.binary) {
    res.writeHead(answer.status, {
      'content-type': answer.binary.headerLength !== undefined ? 'application/octet-stream' : 'application/json',
      'content-length': answer.binary.body.length,
      ...(answer.binary.headerLength !== undefined ? { 'inference-header-content-length': String(answer.binary.headerLength) } : {}),
      ...answer.headers,
    });
    res.end(answer.binary.body);
    return;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...answer.headers });
  res.end(text);
}

/** Byte budget shared by all requests; each request reserves what it reads. */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Reserve `n` more bytes, or throw 429 when that would go past the limit. */
  reserve(n: number): void {
    if (this.used + n > this.limit) {
      throw new HttpError(429, `the server is holding ${this.used} bytes of other requests (limit ${this.limit}); retry shortly`, { 'retry-after': '1' });
    }
    this.used += n;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/**
 * Read a request body into one buffer (allocated once when the length is declared), reserving every
 * byte through `reserve` before it is held; what a request reserved stays reserved until it is answered.
 * A refused body is drained, not kept, so the client still reads the answer.
 */
export function readBody(req: IncomingMessage, limit: number, reserve: (n: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
    const fail = (error: unknown) => {
      req.removeAllListeners('data');
      req.resume();
      reject(error);
    };
    if (declared !== undefined && declared > limit) return fail(new HttpError(413, `request body of ${declared} bytes is over the ${limit}-byte limit`));
    let buffer: Buffer | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (declared !== undefined) {
        reserve(declared);
        buffer = Buffer.allocUnsafe(declared);
      }
    } catch (error) {
      return fail(error);
    }
    req.on('data', (chunk: Buffer) => {
      try {
        if (size + chunk.length > limit) throw new HttpError(413, `request body is over the ${limit}-byte limit`);
        if (buffer) {
          if (size + chunk.length > buffer.length) throw new HttpError(400, 'request body is longer than its content-length');
          chunk.copy(buffer, size);
        } else {
          reserve(chunk.length);
          chunks.push(chunk);
        }
        size += chunk.length;
      } catch (error) {
        fail(error);
      }
    });
    req.on('end', () => resolve(buffer ? buffer.subarray(0, size) : Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away mid-body ends the request without 'end' (and not always with 'error').
    req.on('close', () => { if (!req.complete) reject(new CancelledError('the client went away')); });
  });
}

/** Undo a request's Content-Encoding (gzip or deflate), never past `limit` bytes. */
export async function decode(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  if (!encoding || encoding === 'identity') return body;
  const unzip = encoding === 'gzip' ? promisify(gunzip) : encoding === 'deflate' ? promisify(inflate) : undefined;
  if (!unzip) throw new HttpError(415, `content-encoding ${encoding} is not supported (use gzip, deflate or none)`);
  try {
    return await unzip(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `decompressed request body is over the ${limit}-byte limit`);
    throw new HttpError(400, `request body is not valid ${encoding}: ${(error as Error).message}`);
  }
}

/**
 * Serve one model of a Triton repository over KServe v2 REST (DESIGN.md, serving contract):
 * health, model metadata/config/readiness, inference with fair dynamic micro-batching, and `/metrics`.
 * Limits hold under hostile load: rows per request (413), bytes held at once and rows queued (429,
 * with Retry-After), body size (413); a client that goes away has its rows withdrawn and is counted
 * as 499, not as a server error.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const model = await loadRepository(options.repositoryDir, options.model);
  const served = await loadServedModel(model, options.intraOpThreads ?? 1);
  const metrics = createMetrics();
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = new ByteBudget(Math.max(options.maxBytesInFlight ?? 2 * maxBody, maxBody));
  const maxBatchSize = options.maxBatchSize ?? model.batching.maxBatchSize;
  const limits = { maxRows: options.maxRowsPerRequest ?? maxBatchSize };
  const batcher = new MicroBatcher<unknown, unknown>((rows) => served.predict(rows), {
    maxBatchSize,
    queueDelayMs: (options.queueDelayUs ?? model.batching.queueDelayUs) / 1000,
    concurrency: options.instances ?? model.batching.instances,
    maxQueue: options.maxQueuedRows ?? Math.max(64 * maxBatchSize, limits.maxRows),
    onBatch: (size) => { metrics.batchSize.observe({ model: model.name }, size); metrics.rows.inc({ model: model.name }, size); },
  });
  let ready = true;
  const base = `/v2/models/${model.name}`;

  const infer = async (req: IncomingMessage, held: { bytes: number }, signal: AbortSignal): Promise<Answer['binary']> => {
    const reserve = (n: number) => { budget.reserve(n); held.bytes += n; metrics.bytesInFlight.set({ model: model.name }, budget.inUse); };
    const received = await readBody(req, maxBody, reserve);
    const raw = await decode(received, req.headers['content-encoding'], maxBody);
    if (raw !== received) reserve(raw.length); // the decompressed copy is held too
    const headerText = req.headers['inference-header-content-length'];
    let headerLength = raw.length;
    if (headerText !== undefined) {
      headerLength = Number(headerText);
      if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > raw.length) {
        throw new HttpError(400, `Inference-Header-Content-Length ${JSON.stringify(headerText)} does not fit the ${raw.length}-byte body`);
      }
    }
    let body: unknown;
    try { body = JSON.parse(raw.toString('utf8', 0, headerLength)); } catch {
      throw new HttpError(400, headerText === undefined && raw.length > 0 && raw[0] !== 0x7b
        ? 'request body is not valid JSON (a binary tensor body needs the Inference-Header-Content-Length header)'
        : 'request body is not valid JSON');
    }
    const request = served.parse(body, limits, headerText !== undefined ? raw.subarray(headerLength) : undefined);
    metrics.queueDepth.set({ model: model.name }, batcher.depth + request.rows.length);
    const predictions = await batcher.submit(request.rows, signal);
    return request.respond(predictions);
  };

  const route = async (req: IncomingMessage, held: { bytes: number }, signal: AbortSignal): Promise<Answer> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const only = (allowed: string): void => { if (method !== allowed) throw new HttpError(405, `use ${allowed} for ${path}`); };
    switch (path) {
      case '/v2/health/live': only('GET'); return { route: 'live', status: 200, body: { live: true } };
      case '/v2/health/ready': only('GET'); return { route: 'ready', status: ready ? 200 : 503, body: { ready } };
      case '/v2': only('GET'); return { route: 'server', status: 200, body: { name: 'trainer-agent-local', version: '1', extensions: ['binary_tensor_data', 'model_configuration'] } };
      case base: case `${base}/versions/1`: only('GET'); return { route: 'metadata', status: 200, body: served.metadata() };
      case `${base}/config`: case `${base}/versions/1/config`: only('GET'); return { route: 'config', status: 200, body: served.config() };
      case `${base}/ready`: case `${base}/versions/1/ready`:
        only('GET'); return { route: 'model_ready', status: ready ? 200 : 503, body: { name: model.name, ready } };
      case `${base}/infer`: case `${base}/versions/1/infer`:
        only('POST');
        if (!ready) throw new HttpError(503, 'model is not ready');
        return { route: 'infer', status: 200, body: undefined, binary: await infer(req, held, signal) };
      default:
        if (path.startsWith('/v2/models/')) throw new HttpError(404, `unknown model or route: ${path} (this server serves "${model.name}")`);
        throw new HttpError(404, `not found: ${path}`);
    }
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    if ((req.url ?? '').split('?')[0] === '/metrics' && req.method === 'GET') {
      metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      }, (err: unknown) => send(res, { route: 'metrics', status: 500, body: { error: String(err) } }));
      return;
    }
    const held = { bytes: 0 };
    const gone = new AbortController();
    let answered = false;
    const settle = () => {
      budget.release(held.bytes);
      held.bytes = 0;
      metrics.bytesInFlight.set({ model: model.name }, budget.inUse);
    };
    // The client went away before its answer: withdraw its rows, give its bytes back.
    res.on('close', () => {
      if (!answered) gone.abort();
      settle();
    });
    route(req, held, gone.signal).then(
      (r) => r,
      (err: unknown): Answer => {
        if (gone.signal.aborted || err instanceof CancelledError) return { route: 'error', status: CLIENT_CLOSED, body: { error: 'the client closed the connection' } };
        if (err instanceof HttpError) return { route: 'error', status: err.status, body: { error: err.message }, headers: err.headers };
        if (err instanceof QueueFullError) return { route: 'error', status: 429, body: { error: err.message }, headers: { 'retry-after': '1' } };
        return { route: 'error', status: 500, body: { error: `internal error: ${(err as Error).message ?? String(err)}` } };
      },
    ).then((answer) => {
      const status = gone.signal.aborted ? CLIENT_CLOSED : answer.status;
      answered = true;
      settle();
      send(res, answer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.requests.inc({ model: model.name, route: answer.route, code: String(status) });
      metrics.latency.observe({ model: model.name, route: answer.route }, seconds);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    model,
    metrics,
    bytesInFlight: () => budget.inUse,
    close: async () => {
      ready = false;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await served.close();
    },
  };
}
