/**
 * `trainer-agent operator` as a host process for e2e tests and the scale benchmark (the chart's
 * Deployment runs 0 replicas there: the kubelets are fake). Started the way the image starts it
 * (bin/trainer-agent.mjs), watched like a kubelet would: resident memory sampled from /proc,
 * restarted when it exits unexpectedly (restartPolicy: Always), killed on demand (fault tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, waitFor } from '../cluster/cluster.js';

/** How to run it. */
export interface OperatorProcessOptions {
  kubeconfig: string;
  config: string;
  /** Lease identity; kept across restarts, as a pod keeps its name when its container restarts. */
  identity: string;
  /** stdout and stderr (JSON log lines) are appended here. */
  logFile: string;
  /** Checkout whose bin/trainer-agent.mjs runs (default: this one). */
  root?: string;
  logLevel?: string;
  /** Restart when it exits on its own (lost lease, crash). */
  supervise?: boolean;
  env?: Record<string, string>;
}

/** One start-to-exit of the process. */
export interface Incarnation {
  pid: number;
  startedAt: number;
  readyAt?: number;
  exitedAt?: number;
  exit?: { code: number | null; signal: string | null };
  /** Highest VmHWM seen (kB). */
  peakRssKb: number;
  /** Last /metrics text scraped while it ran. */
  metrics?: string;
}

export class OperatorProcess {
  readonly incarnations: Incarnation[] = [];
  port = 0;
  private child: ChildProcess | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private scraper: NodeJS.Timeout | undefined;
  private stopping = false;
  /** RSS samples (kB) with their time, all incarnations. */
  readonly rss: { at: number; kb: number }[] = [];

  constructor(private readonly options: OperatorProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Start and wait until /readyz answers (the leader has synced its caches). */
  async start(readyTimeoutMs = 120_000): Promise<void> {
    this.stopping = false;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const out = openSync(this.options.logFile, 'a');
    const root = this.options.root ?? repoRoot;
    const child = spawn(process.execPath, [join(root, 'bin/trainer-agent.mjs'), 'operator', `--kubeconfig=${this.options.kubeconfig}`, `--config=${this.options.config}`, `--probe-port=${port}`, '--probe-host=127.0.0.1', `--log-level=${this.options.logLevel ?? 'debug'}`, `--identity=${this.options.identity}`], {
      cwd: root,
      stdio: ['ignore', out, out],
      env: { ...process.env, NODE_OPTIONS: '', ...this.options.env },
    });
    this.child = child;
    this.port = port;
    const incarnation: Incarnation = { pid: child.pid!, startedAt: Date.now(), peakRssKb: 0 };
    this.incarnations.push(incarnation);
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
        incarnation.peakRssKb = Math.max(incarnation.peakRssKb, kb('VmHWM'));
        this.rss.push({ at: Date.now(), kb: kb('VmRSS') });
      } catch {
        // Gone.
      }
    };
    clearInterval(this.sampler);
    this.sampler = setInterval(sample, 250);
    clearInterval(this.scraper);
    this.scraper = setInterval(() => void this.scrape(incarnation), 5000);
    child.once('exit', (code, signal) => {
      incarnation.exitedAt = Date.now();
      incarnation.exit = { code, signal };
      if (this.child === child && this.options.supervise && !this.stopping) {
        process.stderr.write(`[operator] exited (${code ?? signal}); restarting as a kubelet would\n`);
        setTimeout(() => {
          // Unless someone (a test) stopped or started it meanwhile: never two at once.
          if (this.child !== child || this.stopping) return;
          void this.start().catch((e: unknown) => process.stderr.write(`[operator] restart failed: ${(e as Error).message}\n`));
        }, 1000);
      }
    });
    await waitFor('operator /readyz', async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the operator exited (${child.exitCode ?? child.signalCode}); see ${this.options.logFile}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined;
    }, readyTimeoutMs, 250);
    incarnation.readyAt = Date.now();
    await this.scrape(incarnation);
  }

  /** The current /metrics text. */
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  /** SIGKILL, as the OOM killer or a node failure would: no drain, no lease release. */
  async kill9(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** Stop with a signal and wait for the exit (SIGKILL after 15 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    const child = this.child;
    clearInterval(this.sampler);
    clearInterval(this.scraper);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Highest resident memory of any incarnation (MiB). */
  get peakRssMiB(): number {
    return Math.max(0, ...this.incarnations.map((i) => i.peakRssKb)) / 1024;
  }

  private async scrape(incarnation: Incarnation): Promise<void> {
    if (incarnation.exit) return;
    try {
      incarnation.metrics = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    } catch {
      // Not up (yet), or gone.
    }
  }
}
