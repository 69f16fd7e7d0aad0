import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from './model-config.js';

/** worker.py beside this file: runs a Triton Python-backend model.py with the utils shim. */
export const WORKER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'worker.py');

/** A tensor as it travels to and from the worker (BYTES elements base64-encoded). */
export interface WireTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (string | number | boolean)[];
}

/** One client request handed to `execute`. */
export interface WireRequest {
  id?: string;
  inputs: WireTensor[];
  outputs: string[];
}

/** The model's answer to one request. */
export type WireResponse = { outputs: WireTensor[] } | { error: string };

/** What starts a worker. */
export interface WorkerOptions {
  python: string;
  /** `<repository>/<model>`. */
  modelDir: string;
  version?: string;
  config: ModelConfig;
  instance: number;
  /** Extra environment (e.g. OMP_NUM_THREADS). */
  env?: Record<string, string>;
  /** The worker's stderr (the model's logs), line by line. */
  log?: (line: string) => void;
  /** How long `initialize` may take (loading a diffusion model takes a while). */
  startTimeoutMs?: number;
}

/** A Python process running one instance of the model; one `execute` at a time. */
export class PythonWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WireResponse[]) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;
  private readonly tail: string[] = [];

  private constructor(private readonly child: ChildProcess) {}

  /** Whether the process is still there. */
  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Start the process and wait until the model's `initialize` returned (or failed). */
  static start(options: WorkerOptions): Promise<PythonWorker> {
    const kind = options.config.kind === 'KIND_GPU' ? 'GPU' : 'CPU';
    const child = spawn(options.python, [WORKER_SCRIPT, '--model-dir', options.modelDir, '--version', options.version ?? '1',
      '--config', JSON.stringify(options.config.json), '--instance', String(options.instance), '--kind', kind], {
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const worker = new PythonWorker(child);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      worker.tail.push(line);
      worker.tail.splice(0, Math.max(0, worker.tail.length - 20));
      options.log?.(line);
    });
    return new Promise<PythonWorker>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => {
        if (started) return;
        child.kill('SIGKILL');
        reject(new Error(`the model's initialize did not finish within ${(options.startTimeoutMs ?? 600_000) / 1000} s`));
      }, options.startTimeoutMs ?? 600_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let message: { ready?: boolean; fatal?: string; id?: number; responses?: WireResponse[]; error?: string };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return; // not protocol: ignore
        }
        if (!started) {
          started = true;
          clearTimeout(timer);
          if (message.ready) resolve(worker);
          else reject(new Error(`the model did not load: ${message.fatal ?? line}`));
          return;
        }
        const waiter = message.id !== undefined ? worker.pending.get(message.id) : undefined;
        if (!waiter) return;
        worker.pending.delete(message.id!);
        if (message.error !== undefined || !Array.isArray(message.responses)) waiter.reject(new Error(`execute failed: ${message.error ?? 'no responses'}`));
        else waiter.resolve(message.responses);
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        worker.fail(error);
        if (!started) reject(error);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new Error(`the Python worker exited (${signal ?? `code ${code}`}): ${worker.tail.slice(-3).join(' | ')}`);
        worker.fail(error);
        if (!started) {
          started = true;
          reject(error);
        }
      });
    });
  }

  private fail(error: Error): void {
    this.exited ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }

  /** Hand requests to the model's `execute`; one response per request, in order. */
  execute(requests: WireRequest[]): Promise<WireResponse[]> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<WireResponse[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, requests })}\n`);
    });
  }

  /** Let the model finalize (stdin closes), then make sure the process is gone. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
