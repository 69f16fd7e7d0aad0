import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Token counts the server reports in `usage` (defaults: 11 prompt, 7 completion). */
export interface ScriptedUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/**
 * One scripted answer to one `POST /v1/chat/completions`:
 * - `json`: a well-formed answer whose content is `JSON.stringify(json)`;
 * - `content`: the content verbatim (malformed JSON, prose...);
 * - `refusal`: the model refuses (content null, `message.refusal` set);
 * - `finishReason`: override `finish_reason` ('length', 'content_filter'), with `content` or `json`;
 * - `error`: an HTTP error status with an OpenAI-style `{ error: { message, type, code } }` body;
 * - `delayMs`: wait this long before answering (longer than the client timeout = a timeout).
 */
export type ScriptedReply =
  | { json: unknown; usage?: ScriptedUsage; finishReason?: string; delayMs?: number }
  | { content: string; usage?: ScriptedUsage; finishReason?: string; delayMs?: number }
  | { refusal: string; usage?: ScriptedUsage; delayMs?: number }
  | { error: { status: number; message?: string; type?: string; code?: string }; headers?: Record<string, string>; delayMs?: number };

/** A script: replies in call order, or a function of the call index and the request. */
export type ChatScript = readonly ScriptedReply[] | ((call: number, request: RecordedRequest) => ScriptedReply);

/** One request as the server received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text. */
  raw: string;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: ChatRequestBody | undefined;
}

/** The parts of a chat-completions request body tests look at. */
export interface ChatRequestBody {
  model: string;
  temperature?: number;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: unknown } };
  [key: string]: unknown;
}

/** A running scripted server. */
export interface ChatServer {
  /** Base URL to give the OpenAI client (ends in `/v1`). */
  baseURL: string;
  /** Every request received, in order (live array). */
  requests: RecordedRequest[];
  /** Stop the server, dropping any delayed answers still pending. */
  close(): Promise<void>;
}

const DEFAULT_USAGE: ScriptedUsage = { prompt_tokens: 11, completion_tokens: 7 };

/**
 * Start a local OpenAI-compatible chat-completions server on 127.0.0.1 (a free port) that answers
 * each `POST /v1/chat/completions` as `script` says and records what it received. When an array
 * script runs out it answers 500, so a test notices an unexpected extra call. Error answers carry a
 * `retry-after-ms: 1` header so a client that retries does so at once.
 */
export async function startChatServer(script: ChatScript): Promise<ChatServer> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let calls = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, raw, body: parseBody(raw) };
      requests.push(recorded);
      if (recorded.method !== 'POST' || !path.endsWith('/chat/completions')) {
        sendError(res, { status: 404, message: `no route for ${recorded.method} ${path}`, type: 'invalid_request_error' });
        return;
      }
      const call = calls++;
      const reply = typeof script === 'function' ? script(call, recorded) : script[call] ?? { error: { status: 500, message: `no scripted reply for call ${call}`, type: 'server_error' } };
      const answer = () => {
        if (res.destroyed || res.writableEnded) return;
        if ('error' in reply) sendError(res, reply.error, reply.headers);
        else sendCompletion(res, recorded.body?.model ?? 'scripted', call, reply);
      };
      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, reply.delayMs);
        timers.add(timer);
      } else {
        answer();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parseBody(raw: string): ChatRequestBody | undefined {
  try {
    return JSON.parse(raw) as ChatRequestBody;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: { status: number; message?: string; type?: string; code?: string }, headers: Record<string, string> = {}): void {
  sendJson(
    res,
    error.status,
    { error: { message: error.message ?? `scripted error ${error.status}`, type: error.type ?? 'server_error', param: null, code: error.code ?? null } },
    { 'retry-after-ms': '1', ...headers },
  );
}

function sendCompletion(res: ServerResponse, model: string, call: number, reply: Exclude<ScriptedReply, { error: unknown }>): void {
  const usage = reply.usage ?? DEFAULT_USAGE;
  const refusal = 'refusal' in reply ? reply.refusal : null;
  const content = 'json' in reply ? JSON.stringify(reply.json) : 'content' in reply ? reply.content : null;
  const finishReason = 'finishReason' in reply && reply.finishReason ? reply.finishReason : 'stop';
  sendJson(res, 200, {
    id: `chatcmpl-scripted-${call}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal }, logprobs: null, finish_reason: finishReason }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  });
}
