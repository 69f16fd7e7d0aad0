import { Agent, request } from 'node:http';

/** What one load run measured. Latencies are from the intended send time (no coordinated omission). */
export interface LoadResult {
  requests: number;
  errors: number;
  durationSeconds: number;
  /** Successful responses per second over the run. */
  throughput: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Coefficient of variation of the latencies. */
  cv: number;
  /** First few error messages (status and body start). */
  errorSamples: string[];
  /** Open loop only: how long outstanding requests took to finish after sending stopped. */
  drainSeconds?: number;
}

/** Bounds every load run has: time and count. */
export interface LoadBounds {
  durationMs: number;
  maxRequests: number;
}

/** Only loopback targets: the load generator never points at another machine. */
export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.protocol !== 'http:') {
    throw new Error(`load generation only targets http://127.0.0.1 (got ${url})`);
  }
  return u;
}

/** The p-th percentile (0–100) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function summarise(latencies: number[], errors: string[], seconds: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  const variance = sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, sorted.length);
  return {
    requests: latencies.length + errors.length, errors: errors.length, durationSeconds: seconds,
    throughput: latencies.length / Math.max(seconds, 1e-9), meanMs: mean,
    p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), cv: mean > 0 ? Math.sqrt(variance) / mean : 0,
    errorSamples: errors.slice(0, 5),
  };
}

/** POST one JSON body; resolves with the status and the body text. */
function post(agent: Agent, url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function one(agent: Agent, url: URL, body: string, intended: number, latencies: number[], errors: string[],
  completions?: number[]): Promise<void> {
  try {
    const { status, text } = await post(agent, url, body);
    if (status === 200) {
      const now = performance.now();
      latencies.push(now - intended);
      completions?.push(now);
    }
    else errors.push(`${status} ${text.slice(0, 120)}`);
  } catch (err) {
    errors.push((err as Error).message);
  }
}

/** Closed loop: `concurrency` clients each send the next request when the previous answers. */
export async function closedLoop(url: string, bodies: string[], concurrency: number, bounds: LoadBounds): Promise<LoadResult> {
  const { latencies, errors, seconds } = await closedLoopRaw(url, bodies, concurrency, bounds, 0);
  return summarise(latencies, errors, seconds);
}

/** Settings of {@link stableClosedLoop}. */
export interface StableOptions {
  windowMs: number;
  /** Windows tried at most before giving up on stability (the last three are still reported). */
  maxWindows: number;
  /** Relative spread allowed between the last three windows' throughputs (perf_analyzer: 10%). */
  tolerance?: number;
  maxRequestsPerWindow?: number;
}

/** A stable measurement: the last three windows merged, and whether they agreed. */
export interface StableResult extends LoadResult {
  windows: number;
  stable: boolean;
  windowThroughputs: number[];
  /** Mean and p99 latency of each window, in order. */
  windowMeansMs: number[];
  windowP99Ms: number[];
  /** Largest relative distance of the last three windows' throughputs from their mean. */
  spread: number;
}

/** Largest relative distance of `values` from their mean (0 when they are equal; 1 when empty or the mean is 0). */
export function relativeSpread(values: number[]): number {
  if (values.length === 0) return 1;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return mean > 0 ? Math.max(...values.map((v) => Math.abs(v - mean) / mean)) : 1;
}

/** The q-quantile (0–1) of `values`, interpolated between neighbours; 0 for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/**
 * Closed loop measured like perf_analyzer: consecutive windows until the last three throughputs agree
 * within `tolerance` of their mean (or `maxWindows` ran); reports the last three merged.
 */
export async function stableClosedLoop(url: string, bodies: string[], concurrency: number, o: StableOptions): Promise<StableResult> {
  const windows: { latencies: number[]; errors: string[]; seconds: number; throughput: number }[] = [];
  const tolerance = o.tolerance ?? 0.1;
  let offset = 0;
  const agree = (): boolean => windows.length >= 3 && relativeSpread(windows.slice(-3).map((w) => w.throughput)) <= tolerance;
  while (windows.length < Math.max(3, o.maxWindows) && !agree()) {
    const w = await closedLoopRaw(url, bodies, concurrency, { durationMs: o.windowMs, maxRequests: o.maxRequestsPerWindow ?? 100_000 }, offset);
    offset += w.latencies.length + w.errors.length;
    windows.push({ ...w, throughput: w.latencies.length / Math.max(w.seconds, 1e-9) });
  }
  const last = windows.slice(-3);
  const merged = summarise(last.flatMap((w) => w.latencies), last.flatMap((w) => w.errors), last.reduce((a, w) => a + w.seconds, 0));
  const sortedWindow = (w: { latencies: number[] }) => [...w.latencies].sort((a, b) => a - b);
  return { ...merged, windows: windows.length, stable: agree(), windowThroughputs: windows.map((w) => w.throughput),
    windowMeansMs: windows.map((w) => w.latencies.reduce((a, b) => a + b, 0) / Math.max(1, w.latencies.length)),
    windowP99Ms: windows.map((w) => percentile(sortedWindow(w), 99)),
    spread: relativeSpread(last.map((w) => w.throughput)) };
}

async function closedLoopRaw(url: string, bodies: string[], concurrency: number, bounds: LoadBounds, offset: number):
  Promise<{ latencies: number[]; errors: string[]; seconds: number }> {
  const target = assertLoopback(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const errors: string[] = [];
  const start = performance.now();
  const deadline = start + bounds.durationMs;
  let sent = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline && sent < bounds.maxRequests) {
      const body = bodies[(offset + sent) % bodies.length]!;
      sent += 1;
      await one(agent, target, body, performance.now(), latencies, errors);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { latencies, errors, seconds };
}

/** Seeded uniform random numbers (mulberry32), so a run's arrival times can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Open loop: requests arrive at `rate` per second (Poisson, or fixed interval) whatever the server does;
 * the run stops sending at the time or count bound, then waits (bounded) for outstanding answers.
 */
export async function openLoop(url: string, bodies: string[], rate: number, bounds: LoadBounds,
  options: { poisson?: boolean; seed?: number; maxInFlight?: number } = {}): Promise<LoadResult> {
  const target = assertLoopback(url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxInFlight ?? 256 });
  const random = seededRandom(options.seed ?? 1);
  const latencies: number[] = [];
  const completions: number[] = [];
  const errors: string[] = [];
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  let next = start;
  let sent = 0;
  while (sent < bounds.maxRequests) {
    next += options.poisson === false ? 1000 / rate : (-Math.log(1 - random()) * 1000) / rate;
    if (next - start > bounds.durationMs) break;
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const intended = next;
    const p = one(agent, target, bodies[sent % bodies.length]!, intended, latencies, errors, completions);
    sent += 1;
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  const sendingEnded = performance.now();
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 30_000))]);
  const drainSeconds = (performance.now() - sendingEnded) / 1000;
  agent.destroy();
  // Throughput = answers completed while load was offered, over that window (a backlog drained
  // afterwards does not count as sustained); latencies include the drained requests.
  const seconds = Math.max((sendingEnded - start) / 1000, 1e-9);
  const result = summarise(latencies, [...errors, ...Array.from({ length: pending.size }, () => 'no answer within 30 s')], seconds);
  return { ...result, throughput: completions.filter((t) => t <= sendingEnded).length / seconds, drainSeconds };
}
