import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MicroBatcher, QueueFullError } from './batcher.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { OnnxClassifier, type ModelRow, type Prediction } from './model.js';
import { decodeImage, ImageError, toModelRow } from './preprocess.js';
import { HttpError, inferResponse, modelMetadata, parseInferRequest } from './protocol.js';
import { loadRepository, type RepositoryModel } from './repository.js';

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
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) { reject(new HttpError(413, `request body over ${limit} bytes`)); req.resume(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) { reject(new HttpError(413, `request body over ${limit} bytes`)); req.resume(); return; }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Serve one model of a Triton repository over KServe v2 REST (DESIGN.md, serving contract):
 * health, model metadata/readiness, inference with dynamic micro-batching, and `/metrics`.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const model = await loadRepository(options.repositoryDir, options.model);
  const classifier = await OnnxClassifier.load(model, options.intraOpThreads ?? 1);
  const metrics = createMetrics();
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const batcher = new MicroBatcher<ModelRow, Prediction>((rows) => classifier.predict(rows), {
    maxBatchSize: options.maxBatchSize ?? model.batching.maxBatchSize,
    queueDelayMs: (options.queueDelayUs ?? model.batching.queueDelayUs) / 1000,
    concurrency: options.instances ?? model.batching.instances,
    onBatch: (size) => { metrics.batchSize.observe({ model: model.name }, size); metrics.rows.inc({ model: model.name }, size); },
  });
  let ready = true;
  const base = `/v2/models/${model.name}`;

  const infer = async (req: IncomingMessage): Promise<unknown> => {
    const raw = await readBody(req, maxBody);
    let body: unknown;
    try { body = JSON.parse(raw.toString('utf8')); } catch { throw new HttpError(400, 'request body is not valid JSON'); }
    const request = parseInferRequest(body, model);
    let rows: ModelRow[] = request.rows;
    if (model.kind === 'image') {
      try {
        rows = request.rows.map((b64) => toModelRow(decodeImage(b64), model.image!));
      } catch (err) {
        if (err instanceof ImageError) throw new HttpError(400, `invalid image: ${err.message}`);
        throw err;
      }
    }
    metrics.queueDepth.set({ model: model.name }, batcher.depth + rows.length);
    const predictions = await batcher.submit(rows);
    return inferResponse(model, request, predictions);
  };

  const route = async (req: IncomingMessage): Promise<{ route: string; status: number; body: unknown }> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const only = (allowed: string): void => { if (method !== allowed) throw new HttpError(405, `use ${allowed} for ${path}`); };
    switch (path) {
      case '/v2/health/live': only('GET'); return { route: 'live', status: 200, body: { live: true } };
      case '/v2/health/ready': only('GET'); return { route: 'ready', status: ready ? 200 : 503, body: { ready } };
      case '/v2': only('GET'); return { route: 'server', status: 200, body: { name: 'trainer-agent-local', version: '1', extensions: [] } };
      case base: case `${base}/versions/1`: only('GET'); return { route: 'metadata', status: 200, body: modelMetadata(model) };
      case `${base}/ready`: case `${base}/versions/1/ready`:
        only('GET'); return { route: 'model_ready', status: ready ? 200 : 503, body: { name: model.name, ready } };
      case `${base}/infer`: case `${base}/versions/1/infer`:
        only('POST');
        if (!ready) throw new HttpError(503, 'model is not ready');
        return { route: 'infer', status: 200, body: await infer(req) };
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
      }, (err: unknown) => send(res, 500, { error: String(err) }));
      return;
    }
    route(req).then(
      (r) => ({ ...r }),
      (err: unknown) => {
        if (err instanceof HttpError) return { route: 'error', status: err.status, body: { error: err.message } };
        if (err instanceof QueueFullError) return { route: 'error', status: 503, body: { error: err.message } };
        return { route: 'error', status: 500, body: { error: `internal error: ${(err as Error).message ?? String(err)}` } };
      },
    ).then(({ route: name, status, body }) => {
      send(res, status, body);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.requests.inc({ model: model.name, route: name, code: String(status) });
      metrics.latency.observe({ model: model.name, route: name }, seconds);
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
    close: async () => {
      ready = false;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await classifier.close();
    },
  };
}
