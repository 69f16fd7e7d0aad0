import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Framework } from '../../../../agents/model/catalog.js';
import { ensureJobPython } from '../../python-env.js';
import { CancelledError, QueueFullError } from '../batcher.js';
import { createMetrics, type ServeMetrics } from '../metrics.js';
import { HttpError } from '../protocol.js';
import { ByteBudget, CLIENT_CLOSED, decode, DEFAULT_MAX_BODY_BYTES, readBody, send, type Answer, type ServeOptions } from '../server.js';
import { loadModelConfig, type ModelConfig } from './model-config.js';
import { configuredMetadata, modelInferResponse, parseModelInferRequest } from './protocol.js';
import { RequestQueue } from './queue.js';
import { PythonWorker, type WireRequest, type WireResponse } from './worker.js';

/** config.pbtxt parameter naming the job environment a model needs (`torch` or `sklearn`; default the core one). */
export const RUNTIME_PARAMETER = 'TRAINER_AGENT_RUNTIME';

/** Options of the Python-backend server: the common ones, and the Python that runs the model. */
export interface PythonServeOptions extends ServeOptions {
  /** The interpreter; default: the job environment config.pbtxt names (built on first use). */
  python?: string;
  /** The workers' stderr (model logs), line by line; default: this process's stderr. */
  log?: (line: string) => void;
  /** How long the model's `initialize` may take. */
  startTimeoutMs?: number;
}

/** A running Python-backend server. */
export interface RunningPythonServer {
  url: string;
  config: ModelConfig;
  metrics: ServeMetrics;
  close(): Promise<void>;
}

/** The job environment a model's config.pbtxt asks for. */
export function runtimeOf(config: ModelConfig): Framework {
  return config.parameters[RUNTIME_PARAMETER] === 'torch' ? 'torch' : 'sklearn';
}

/**
 * Serve a Triton Python-backend model (`backend: "python"`) over KServe v2 REST: its unchanged model.py
 * runs in Python worker processes (one per instance of instance_group) through a small
 * triton_python_backend_utils shim, fed whole requests by Triton's dynamic batching rules. Inputs and
 * outputs are checked against config.pbtxt as Triton checks them.
 */
export async function startPythonBackendServer(options: PythonServeOptions): Promise<RunningPythonServer> {
  const config = await loadModelConfig(options.repositoryDir, options.model);
  if (config.backend !== 'python') throw new Error(`${options.model} is not a Python-backend model (backend ${config.backend ?? config.platform ?? 'unknown'})`);
  const log = options.log ?? ((line: string) => process.stderr.write(`[${config.name}] ${line}\n`));
  const python = options.python ?? ensureJobPython(runtimeOf(config), log);
  const instances = options.instances ?? config.instances;
  const env: Record<string, string> = options.intraOpThreads ? { OMP_NUM_THREADS: String(options.intraOpThreads) } : {};
  const workers = await Promise.all(Array.from({ length: instances }, (_, instance) => PythonWorker.start({
    python, modelDir: join(options.repositoryDir, options.model), config, instance, env, log,
    ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
  })));
  const metrics = createMetrics();
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = new ByteBudget(Math.max(options.maxBytesInFlight ?? 2 * maxBody, maxBody));
  const maxBatchSize = options.maxBatchSize ?? config.maxBatchSize;
  const maxRows = options.maxRowsPerRequest ?? Math.max(1, maxBatchSize);
  const queue = new RequestQueue<WireRequest, WireResponse>(instances, async (instance, batch) => workers[instance]!.execute(batch), {
    maxBatchRows: maxBatchSize, queueDelayMs: (options.queueDelayUs ?? config.queueDelayUs ?? 0) / 1000, maxQueued: options.maxQueuedRows ?? 64,
  }, (rows) => { metrics.batchSize.observe({ model: config.name }, rows); metrics.rows.inc({ model: config.name }, rows); });
  let ready = true;
  const base = `/v2/models/${config.name}`;

  const infer = async (req: IncomingMessage, held: { bytes: number }, signal: AbortSignal): Promise<Answer['binary']> => {
    if (!workers.every((w) => w.alive)) throw new HttpError(503, 'a model instance stopped; see the server log');
    const reserve = (n: number) => { budget.reserve(n); held.bytes += n; metrics.bytesInFlight.set({ model: config.name }, budget.inUse); };
    const received = await readBody(req, maxBody, reserve);
    const raw = await decode(received, req.headers['content-encoding'], maxBody);
    if (raw !== received) reserve(raw.length);
    const headerText = req.headers['inference-header-content-length'];
    const headerLength = headerText === undefined ? raw.length : Number(headerText);
    if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > raw.length) throw new HttpError(400, `Inference-Header-Content-Length ${JSON.stringify(headerText)} does not fit the ${raw.length}-byte body`);
    let body: unknown;
    try { body = JSON.parse(raw.toString('utf8', 0, headerLength)); } catch { throw new HttpError(400, 'request body is not valid JSON'); }
    const parsed = parseModelInferRequest(body, config, maxRows, headerText !== undefined ? raw.subarray(headerLength) : undefined);
    metrics.queueDepth.set({ model: config.name }, queue.depth + 1);
    const response = await queue.submit(parsed.request, parsed.batch, signal);
    if ('error' in response) throw new HttpError(400, response.error);
    return modelInferResponse(config, parsed, response.outputs);
  };

  const route = async (req: IncomingMessage, held: { bytes: number }, signal: AbortSignal): Promise<Answer> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const only = (allowed: string): void => { if (method !== allowed) throw new HttpError(405, `use ${allowed} for ${path}`); };
    const up = ready && workers.every((w) => w.alive);
    switch (path) {
      case '/v2/health/live': only('GET'); return { route: 'live', status: 200, body: { live: true } };
      case '/v2/health/ready': only('GET'); return { route: 'ready', status: up ? 200 : 503, body: { ready: up } };
      case '/v2': only('GET'); return { route: 'server', status: 200, body: { name: 'trainer-agent-local', version: '1', extensions: ['binary_tensor_data', 'model_configuration'] } };
      case base: case `${base}/versions/1`: only('GET'); return { route: 'metadata', status: 200, body: configuredMetadata(config) };
      case `${base}/config`: case `${base}/versions/1/config`: only('GET'); return { route: 'config', status: 200, body: config.json };
      case `${base}/ready`: case `${base}/versions/1/ready`: only('GET'); return { route: 'model_ready', status: up ? 200 : 503, body: { name: config.name, ready: up } };
      case `${base}/infer`: case `${base}/versions/1/infer`:
        only('POST');
        if (!ready) throw new HttpError(503, 'model is not ready');
        return { route: 'infer', status: 200, body: undefined, binary: await infer(req, held, signal) };
      default:
        if (path.startsWith('/v2/models/')) throw new HttpError(404, `unknown model or route: ${path} (this server serves "${config.name}")`);
        throw new HttpError(404, `not found: ${path}`);
    }
  };

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    if ((req.url ?? '').split('?')[0] === '/metrics' && req.method === 'GET') {
      metrics.registry.metrics().then((text) => { res.writeHead(200, { 'content-type': metrics.registry.contentType }); res.end(text); },
        (err: unknown) => send(res, { route: 'metrics', status: 500, body: { error: String(err) } }));
      return;
    }
    const held = { bytes: 0 };
    const gone = new AbortController();
    let answered = false;
    const settle = () => { budget.release(held.bytes); held.bytes = 0; metrics.bytesInFlight.set({ model: config.name }, budget.inUse); };
    res.on('close', () => { if (!answered) gone.abort(); settle(); });
    route(req, held, gone.signal).then((r) => r, (err: unknown): Answer => {
      if (gone.signal.aborted || err instanceof CancelledError) return { route: 'error', status: CLIENT_CLOSED, body: { error: 'the client closed the connection' } };
      if (err instanceof HttpError) return { route: 'error', status: err.status, body: { error: err.message }, headers: err.headers };
      if (err instanceof QueueFullError) return { route: 'error', status: 429, body: { error: err.message }, headers: { 'retry-after': '1' } };
      return { route: 'error', status: 500, body: { error: `internal error: ${(err as Error).message ?? String(err)}` } };
    }).then((answer) => {
      answered = true;
      settle();
      send(res, answer);
      metrics.requests.inc({ model: config.name, route: answer.route, code: String(gone.signal.aborted ? CLIENT_CLOSED : answer.status) });
      metrics.latency.observe({ model: config.name, route: answer.route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
  });
  server.keepAliveTimeout = 65_000;
  // Generating an image can take minutes on a CPU: no request timeout beyond the client's own.
  server.requestTimeout = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await Promise.all(workers.map((w) => w.close()));
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    config,
    metrics,
    close: async () => {
      ready = false;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
