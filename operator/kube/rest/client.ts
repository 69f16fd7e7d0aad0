import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Connection } from './kubeconfig.js';

/** An error answer of the API server (a `Status` object), or a transport failure (code 0). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** True when `error` is an API error with one of these HTTP codes. */
export function isApiError(error: unknown, ...codes: number[]): boolean {
  return error instanceof ApiError && codes.includes(error.code);
}

/** The verbs of Kubernetes' audit log and RBAC; `apply` is a server-side apply PATCH. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';

/** One finished API call, for metrics and the scale benchmark's request accounting. */
export interface CallRecord {
  verb: Verb;
  resource: string;
  /** HTTP status, or 0 when no answer came (timeout, connection error). */
  code: number;
  seconds: number;
}

/** One request. */
export interface RequestOptions {
  verb: Verb;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default application/json; merge and apply patches name theirs. */
  contentType?: string;
  /** Give up (and abort the call) after this long; default the client's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One event of a watch stream. */
export interface WatchEvent<T = Record<string, unknown>> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** Options of a watch. */
export interface WatchOptions {
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  onEvent: (event: WatchEvent) => void;
  /** Called once the server accepted the watch. */
  onOpen?: () => void;
  /** Abort the watch when nothing (not even a bookmark) arrived for this long. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

/** Options of the client. */
export interface KubeClientOptions {
  /** Default deadline of a request (not of a watch). */
  timeoutMs?: number;
  onCall?: (call: CallRecord) => void;
}

/**
 * A small Kubernetes REST client on node:http(s): JSON requests with a deadline each, streaming
 * watches with an idle timeout, bearer tokens re-read as they rotate, mutual TLS, keep-alive.
 *
 * Why not @kubernetes/client-node at run time: importing it loads its generated models and APIs,
 * ≈ 85 MB of resident memory before the first request, more than this operator's whole budget
 * beside its informer caches. Its types (`V1Job`, ...) are still used, as type-only imports.
 */
export class KubeClient {
  private readonly agent: HttpAgent;
  private readonly secure: boolean;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(
    private readonly connection: Connection,
    private readonly options: KubeClientOptions = {},
  ) {
    this.base = new URL(connection.server);
    this.secure = this.base.protocol === 'https:';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const common = { keepAlive: true, maxSockets: 64, maxFreeSockets: 8, scheduling: 'lifo' as const };
    this.agent = this.secure
      ? new HttpsAgent({
          ...common,
          ...(connection.ca ? { ca: connection.ca } : {}),
          ...(connection.cert ? { cert: connection.cert } : {}),
          ...(connection.key ? { key: connection.key } : {}),
          rejectUnauthorized: !connection.insecureSkipTLSVerify,
          ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
        })
      : new HttpAgent(common);
  }

  /** Close idle sockets (on shutdown). */
  close(): void {
    this.agent.destroy();
  }

  /** A JSON request; resolves to the parsed body, rejects with {@link ApiError}. */
  async request<T = Record<string, unknown>>(options: RequestOptions): Promise<T> {
    const started = performance.now();
    let code = 0;
    try {
      const response = await this.send(options.verb === 'apply' || options.verb === 'patch' ? 'PATCH' : METHOD[options.verb], options.path, options.query, options.body, options.contentType, options.timeoutMs ?? this.timeoutMs, options.signal);
      code = response.status;
      const text = response.body.toString('utf8');
      if (code >= 400) throw statusError(code, text, options);
      return (text ? JSON.parse(text) : {}) as T;
    } finally {
      this.options.onCall?.({ verb: options.verb, resource: resourceOf(options.path), code, seconds: (performance.now() - started) / 1000 });
    }
  }

  /**
   * Watch `path` until the server ends the stream (resolves), or it fails, goes idle past
   * `idleTimeoutMs`, or is aborted (rejects). Events are handed over one by one, in order.
   */
  async watch(options: WatchOptions): Promise<void> {
    const started = performance.now();
    let code = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        void this.open('GET', options.path, { ...options.query, watch: true }, undefined, undefined, options.signal)
          .then(({ req, response }) => {
            code = response.statusCode ?? 0;
            if (code >= 400) {
              collect(response).then((body) => reject(statusError(code, body.toString('utf8'), { verb: 'watch', path: options.path })), reject);
              return;
            }
            options.onOpen?.();
            let idle: NodeJS.Timeout | undefined;
            const arm = () => {
              clearTimeout(idle);
              idle = setTimeout(() => req.destroy(new ApiError(0, `watch ${options.path}: nothing arrived for ${options.idleTimeoutMs} ms`, 'WatchIdle')), options.idleTimeoutMs);
              idle.unref?.();
            };
            arm();
            let pending = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              arm();
              pending += chunk;
              let newline = pending.indexOf('\n');
              while (newline >= 0) {
                const line = pending.slice(0, newline).trim();
                pending = pending.slice(newline + 1);
                if (line) {
                  try {
                    options.onEvent(JSON.parse(line) as WatchEvent);
                  } catch (error) {
                    req.destroy(error as Error);
                    return;
                  }
                }
                newline = pending.indexOf('\n');
              }
            });
            response.on('end', () => {
              clearTimeout(idle);
              resolve();
            });
            response.on('error', (error) => {
              clearTimeout(idle);
              reject(error);
            });
            response.on('close', () => {
              clearTimeout(idle);
              if (!response.complete) reject(new ApiError(0, `watch ${options.path}: connection closed`));
            });
          }, reject);
      });
    } finally {
      this.options.onCall?.({ verb: 'watch', resource: resourceOf(options.path), code, seconds: (performance.now() - started) / 1000 });
    }
  }

  private async send(method: string, path: string, query: RequestOptions['query'], body: unknown, contentType: string | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ status: number; body: Buffer }> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const { response } = await this.open(method, path, query, body, contentType, combined);
      return { status: response.statusCode ?? 0, body: await collect(response) };
    } catch (error) {
      if (deadline.aborted) throw new ApiError(0, `${method} ${path}: no answer within ${timeoutMs} ms`, 'Timeout');
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, `${method} ${path}: ${(error as Error).message}`);
    }
  }

  private async open(method: string, path: string, query: RequestOptions['query'], body: unknown, contentType: string | undefined, signal: AbortSignal | undefined): Promise<{ req: ReturnType<typeof httpRequest>; response: IncomingMessage }> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const token = await this.connection.token();
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'trainer-agent-operator',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(payload ? { 'content-type': contentType ?? 'application/json', 'content-length': String(payload.length) } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)(url, { method, headers, agent: this.agent, ...(signal ? { signal } : {}) }, (response) => resolve({ req, response }));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

const METHOD: Record<Exclude<Verb, 'patch' | 'apply'>, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', delete: 'DELETE' };

function collect(response: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (c: Buffer) => chunks.push(c));
    response.on('end', () => resolve(Buffer.concat(chunks)));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('response aborted')));
  });
}

function statusError(code: number, text: string, options: Pick<RequestOptions, 'verb' | 'path'>): ApiError {
  let reason: string | undefined;
  let message = text.slice(0, 500);
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason;
    message = status.message ?? message;
  } catch {
    // Not a Status object (a proxy's answer): keep the text.
  }
  return new ApiError(code, `${options.verb} ${options.path}: ${code}${reason ? ` ${reason}` : ''}: ${message}`, reason);
}

/** The resource a path names (`/apis/batch/v1/namespaces/a/jobs/b` → `jobs`; subresources → `jobs/status`). */
export function resourceOf(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  let i = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : 0;
  if (parts[i] === 'namespaces' && parts.length > i + 2) i += 2;
  const resource = parts[i] ?? '';
  const sub = parts[i + 2];
  return sub ? `${resource}/${sub}` : resource;
}
