import type { JobProgress } from './jobs.js';

/** Shows what the local run is doing: a live line on a terminal, plain lines elsewhere (CI, logs). */
export class ProgressReporter {
  private lastPlain = '';
  private lastPlainAt = 0;
  private live = false;
  private startedAt = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {}

  /** A line that stays: phase changes, events, results. */
  line(text: string): void {
    if (this.live) this.stream.write('\r\x1b[2K');
    this.live = false;
    this.stream.write(`${text}\n`);
  }

  /** Start timing a job, for the ETA. */
  jobStarted(): void {
    this.startedAt = this.now();
  }

  /** A job's progress: rewritten in place on a terminal, throttled plain lines otherwise. */
  progress(label: string, p: JobProgress): void {
    const fraction = p.step !== undefined && p.total ? p.step / p.total : undefined;
    const elapsed = (this.now() - this.startedAt) / 1000;
    // A training job estimates its own ETA from samples/s; otherwise extrapolate from the steps done.
    const own = typeof p.metric?.etaSeconds === 'number' ? p.metric.etaSeconds : undefined;
    const seconds = own ?? (fraction && fraction > 0.02 ? Math.max(0, elapsed / fraction - elapsed) : undefined);
    const eta = seconds !== undefined ? ` ETA ${Math.round(seconds)}s` : '';
    const shown = Object.entries(p.metric ?? {}).filter(([k]) => k !== 'etaSeconds' && k !== 'learningRate');
    const metric = shown.length ? ` ${shown.map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(' ')}` : '';
    const step = p.step !== undefined ? ` ${p.step}${p.total ? `/${p.total}` : ''}` : '';
    const text = `${label} ${p.stage ?? ''}${step}${metric}${eta}`.replace(/\s+/g, ' ').trim();
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text.slice(0, (this.stream.columns ?? 120) - 1)}`);
      this.live = true;
      return;
    }
    const key = `${label} ${p.stage ?? ''}`;
    if (key !== this.lastPlain || this.now() - this.lastPlainAt > 10_000) {
      this.stream.write(`${text}\n`);
      this.lastPlain = key;
      this.lastPlainAt = this.now();
    }
  }
}
