import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

/**
 * A small OpenAI-compatible `/v1/chat/completions` server over node-llama-cpp (a real llama.cpp
 * running a GGUF model in-process), for checking the LLM brain against a real model: `max_tokens`,
 * `temperature`, `response_format` json_schema (enforced by a grammar, or 400 when the schema is
 * beyond llama.cpp's grammar), json_object, and none. node-llama-cpp is not a project dependency:
 * it is installed into a cache directory by scripts/llm-check.sh and loaded from there.
 */

// The slice of node-llama-cpp's API this server uses.
interface Grammar { readonly _brand?: 'grammar' }
interface ChatSession {
  setChatHistory(history: unknown[]): void;
  promptWithMeta(prompt: string, options: { maxTokens: number; temperature: number; grammar?: Grammar; seed?: number; signal?: AbortSignal; stopOnAbortSignal?: boolean }): Promise<{ responseText: string; stopReason: string }>;
  dispose(options?: { disposeSequence?: boolean }): void;
}
interface LlamaModule {
  getLlama(options: { gpu: false; build: 'never'; logLevel?: string }): Promise<{
    loadModel(options: { modelPath: string }): Promise<{ createContext(options: { contextSize: number; sequences: number; threads?: number }): Promise<{ getSequence(): unknown }>; tokenize(text: string): unknown[] }>;
    createGrammarForJsonSchema(schema: unknown): Promise<Grammar>;
    getGrammarFor(kind: 'json'): Promise<Grammar>;
  }>;
  LlamaChatSession: new (options: { contextSequence: unknown; autoDisposeSequence?: boolean }) => ChatSession;
}

interface ChatBody {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  max_tokens?: number;
  temperature?: number;
  response_format?: { type: 'json_schema'; json_schema: { schema: unknown } } | { type: 'json_object' } | { type: 'text' };
}

/** A running server. */
export interface LlamaServer {
  baseURL: string;
  close(): Promise<void>;
}

/** Start the server on 127.0.0.1 (a free port) with the GGUF at `modelPath`; requests are answered one at a time. */
export async function startLlamaServer(options: { nodeLlamaCppDir: string; modelPath: string; contextSize?: number; threads?: number }): Promise<LlamaServer> {
  const entry = pathToFileURL(join(options.nodeLlamaCppDir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js')).href;
  const mod = (await import(entry)) as LlamaModule;
  const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  const context = await model.createContext({ contextSize: options.contextSize ?? 4096, sequences: 1, ...(options.threads ? { threads: options.threads } : {}) });
  // One sequence for every request: llama.cpp reuses the evaluated prefix (the agent's long system
  // prompt) from one request to the next, as a real server's prompt cache does.
  const sequence = context.getSequence();
  let queue: Promise<unknown> = Promise.resolve();

  async function complete(body: ChatBody, signal: AbortSignal): Promise<{ status: number; json: unknown }> {
    if (signal.aborted) return { status: 499, json: { error: { message: 'client went away' } } };
    let grammar: Grammar | undefined;
    const format = body.response_format;
    if (format?.type === 'json_schema') {
      try {
        grammar = await llama.createGrammarForJsonSchema(format.json_schema.schema);
      } catch (error) {
        return { status: 400, json: { error: { message: `response_format json_schema is not supported for this schema: ${(error as Error).message.slice(0, 200)}`, type: 'invalid_request_error' } } };
      }
    } else if (format?.type === 'json_object') grammar = await llama.getGrammarFor('json');
    const session = new mod.LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      const last = body.messages.at(-1)!;
      const history = body.messages.slice(0, -1).map((m) => (m.role === 'system' ? { type: 'system', text: m.content } : m.role === 'user' ? { type: 'user', text: m.content } : { type: 'model', response: [m.content] }));
      session.setChatHistory(history);
      const maxTokens = Math.max(1, Math.min(body.max_tokens ?? 512, 4096));
      const out = await session.promptWithMeta(last.content, { maxTokens, temperature: body.temperature ?? 0, seed: 0, signal, stopOnAbortSignal: true, ...(grammar ? { grammar } : {}) });
      const promptTokens = body.messages.reduce((n, m) => n + model.tokenize(m.content).length, 0);
      return {
        status: 200,
        json: {
          id: `chatcmpl-${Date.now()}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'local-gguf',
          choices: [{ index: 0, message: { role: 'assistant', content: out.responseText }, finish_reason: out.stopReason === 'maxTokens' ? 'length' : 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: model.tokenize(out.responseText).length, total_tokens: 0 },
        },
      };
    } finally {
      session.dispose({ disposeSequence: false });
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(404, { error: { message: 'not found' } });
      let body: ChatBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
      } catch {
        return send(400, { error: { message: 'body is not JSON' } });
      }
      // A client that gives up (its timeout) stops the generation, so the next request is not kept waiting.
      const gone = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) gone.abort();
      });
      const answer = queue.then(() => complete(body, gone.signal));
      queue = answer.catch(() => undefined);
      answer.then((r) => send(r.status, r.json), (error: Error) => send(500, { error: { message: error.message.slice(0, 300) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
