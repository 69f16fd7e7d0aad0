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
    const eta = fraction && fraction > 0.02 ? ` ETA ${Math.max(0, Math.round(elapsed / fraction - elapsed))}s` : '';
    const metric = p.metric ? ` ${Object.entries(p.metric).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(4) : v}`).join(' ')}` : '';
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
