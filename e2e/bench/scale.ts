/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
/**
 * The operator at scale on the real control plane: N TrainingRequests created at once — most
 * waiting for input or rejected, some with held data Jobs —, optionally an operator SIGKILL and an
 * API server restart while they settle. Measures the operator's resident memory, reconcile times,
 * its API calls per request (counted by the API server's audit log, so any operator version is
 * measured the same way), the time until every request settled, and its API traffic when idle.
 * Used by `npm run bench:operator` (1,000 requests) and by a small e2e test (CI).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump, load } from 'js-yaml';
import { clusterDir, connectionOf, kubectl, loadKubeConfig, repoRoot, serviceAccountKubeConfig } from '../cluster/cluster.js';
import { helmBin, installChart } from '../operator/helm.js';
import { OperatorProcess } from '../operator/operator-process.js';
import { KubeClient } from '../../operator/kube/rest/client.js';
import { isRead, readAudit, requestOf, type AuditCall } from './audit.js';

const run = promisify(execFile);
export const RELEASE = 'ta';
export const RELEASE_NS = 'trainer-agent-system';
export const OPERATOR_USER = `system:serviceaccount:${RELEASE_NS}:ta-trainer-agent`;
const TR = '/apis/traineragent.io/v1alpha1';

/** What to run. */
export interface ScaleOptions {
  requests: number;
  /** Requests with data whose data Job is held Running. */
  held: number;
  /** Requests the Task agent refuses. */
  rejected: number;
  /** SIGKILL the operator and restart the API server while requests settle. */
  faults: boolean;
  /** Checkout whose operator runs (a baseline); default this one. */
  operatorRoot?: string;
  resyncSeconds: number;
  idleSeconds: number;
  settleTimeoutSeconds: number;
  /** Scratch directory (artifacts, logs, config). */
  work: string;
  /** NODE_OPTIONS of the operator process instead of the chart's. */
  nodeOptions?: string;
  log?: (line: string) => void;
}

/** Calls per request of one kind while settling. */
export interface KindCalls {
  requests: number;
  readsMean: number;
  writesMean: number;
  writesMax: number;
  callsMean: number;
}

/** What was measured. */
export interface ScaleReport {
  options: Omit<ScaleOptions, 'log' | 'work'>;
  operatorLog: string;
  createSeconds: number;
  settleSeconds: number;
  settled: boolean;
  faults: { at: number; what: string; seconds: number }[];
  restarts: number;
  rss: { readyMiB: number; peakMiB: number; atSettleMiB: number; idleMiB: number; peakAtSeconds: number; heapUsedAtSettleMiB: number; heapTotalMiB: number; externalMiB: number; timeline: [number, number][] };
  reconcile: { count: number; p50Ms: number; p99Ms: number; maxMs: number; source: 'log' | 'histogram' };
  calls: {
    total: number;
    byVerb: Record<string, number>;
    perKind: Record<string, KindCalls>;
    unattributed: number;
  };
  idle: { seconds: number; readsPerSecond: number; writesPerSecond: number; byResource: Record<string, number>; reconciles: number; maxReconcilesPerSecond: number };
  checks: { lost: string[]; wrongPhase: string[]; duplicateJobs: string[]; unexpectedJobs: string[] };
}

type Kind = 'awaiting' | 'rejected' | 'held';
const EXPECTED: Record<Kind, string> = { awaiting: 'AwaitingInput', rejected: 'Rejected', held: 'PreparingData' };
const REQUIREMENT: Record<Kind, string> = {
  awaiting: 'Classify customer emails as spam or ham with accuracy of at least 90%.',
  rejected: 'Generate hateful harassment messages to post about my coworkers.',
  held: 'Classify customer emails as spam or ham with accuracy of at least 90%.',
};

/** Run the benchmark against the running e2e cluster. */
export async function runScale(options: ScaleOptions): Promise<ScaleReport> {
  const say = options.log ?? ((line: string) => process.stderr.write(`[scale] ${line}\n`));
  const admin = loadKubeConfig();
  const client = new KubeClient(connectionOf(admin), { timeoutMs: 60_000 });
  const ns = `scale-${Date.now().toString(36)}`;
  const artifacts = join(options.work, 'artifacts');
  mkdirSync(join(artifacts, 'datasets'), { recursive: true });
  writeFileSync(join(artifacts, 'datasets/emails.jsonl'), Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `message ${i} ${i % 2 ? 'win money now' : 'see you at lunch'}`, label: i % 2 ? 'spam' : 'ham' })).join('\n') + '\n');

  installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false']);
  await kubectl(['create', 'namespace', ns]);
  await applyYaml(options.work, { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-artifacts` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', hostPath: { path: artifacts }, claimRef: { namespace: ns, name: 'trainer-agent-artifacts' } } });
  await applyYaml(options.work, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'trainer-agent-artifacts', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', volumeName: `${ns}-artifacts`, resources: { requests: { storage: '1Gi' } } } });

  // The operator's config as its chart renders it, with host paths and held job pods.
  const chart = join(options.operatorRoot ?? repoRoot, 'charts/trainer-agent');
  const rendered = execFileSync(helmBin(), ['template', RELEASE, chart, '--namespace', RELEASE_NS, '--show-only', 'templates/configmap.yaml'], { encoding: 'utf8' });
  const config = load((load(rendered) as any).data['config.yaml']) as Record<string, any>;
  config['artifacts'] = { ...config['artifacts'], mountPath: artifacts, localPath: artifacts };
  config['jobs'] = { ...config['jobs'], podAnnotations: { 'traineragent.io/hold': 'true' }, resources: { requests: { cpu: '10m', memory: '64Mi' } } };
  config['resyncSeconds'] = options.resyncSeconds;
  // The process environment the chart gives the operator (V8 and malloc settings).
  const deployment = load(execFileSync(helmBin(), ['template', RELEASE, chart, '--namespace', RELEASE_NS, '--show-only', 'templates/deployment.yaml'], { encoding: 'utf8' })) as any;
  const chartEnv = Object.fromEntries((deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[]).filter((e) => ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].includes(e.name) && e.value !== undefined).map((e) => [e.name, e.value!]));
  if (options.nodeOptions !== undefined) chartEnv['NODE_OPTIONS'] = options.nodeOptions;
  const configFile = join(options.work, 'operator.yaml');
  writeFileSync(configFile, dump(config));
  const sa = await serviceAccountKubeConfig(RELEASE_NS, 'ta-trainer-agent', admin, 7200);
  const kubeconfig = join(options.work, 'operator.kubeconfig');
  writeFileSync(kubeconfig, sa.exportConfig(), { mode: 0o600 });
  const operatorLog = join(options.work, 'operator.log');
  const operator = new OperatorProcess({ kubeconfig, config: configFile, identity: 'scale-operator', logFile: operatorLog, supervise: true, env: chartEnv, ...(options.operatorRoot ? { root: options.operatorRoot } : {}) });
  await operator.start();
  const rssReady = (operator.rss.at(-1)?.kb ?? 0) / 1024;
  say(`operator ready (pid ${operator.pid}, ${JSON.stringify(chartEnv)}), idle RSS ${rssReady | 0} MiB`);

  // The requests: awaiting input, rejected, and held (data Job Running until the end).
  const kinds: Kind[] = Array.from({ length: options.requests }, (_, i) => (i < options.held ? 'held' : i < options.held + options.rejected ? 'rejected' : 'awaiting'));
  const names = kinds.map((kind, i) => `${kind}-${String(i).padStart(4, '0')}`);
  const kindOf = new Map(names.map((n, i) => [n, kinds[i]!]));
  const known = new Set(names);
  const { offset: auditStart } = readAudit();
  const t0 = Date.now();
  await pool(names, 32, async (name) => {
    const kind = kindOf.get(name)!;
    const spec: Record<string, unknown> = { requirement: REQUIREMENT[kind] };
    if (kind === 'held') spec['data'] = [{ name: 'emails', uri: 'pvc://trainer-agent-artifacts/datasets/emails.jsonl', format: 'jsonl', role: 'train' }];
    await client.request({ verb: 'create', path: `${TR}/namespaces/${ns}/trainingrequests`, body: { apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name, namespace: ns }, spec } });
  });
  const createSeconds = (Date.now() - t0) / 1000;
  say(`created ${names.length} TrainingRequests in ${createSeconds.toFixed(1)} s`);

  // Watch them settle; inject the faults on the way.
  const faults: ScaleReport['faults'] = [];
  const pendingFaults = options.faults ? [{ at: 0.35, what: 'operator SIGKILL' }, { at: 0.65, what: 'API server restart' }] : [];
  let state = await observe(client, ns, kindOf);
  let settledAt = 0;
  const deadline = t0 + options.settleTimeoutSeconds * 1000;
  while (Date.now() < deadline) {
    state = await observe(client, ns, kindOf).catch(() => state);
    const fraction = state.settled.length / names.length;
    const fault = pendingFaults[0];
    if (fault && (fraction >= fault.at || fraction === 1)) {
      pendingFaults.shift();
      const started = Date.now();
      say(`${fault.what} at ${(fraction * 100).toFixed(0)}% settled`);
      if (fault.what === 'operator SIGKILL') {
        await operator.kill9();
        await operator.start();
      } else {
        await run('bash', [join(clusterDir, 'restart-apiserver.sh')], { timeout: 180_000 });
      }
      faults.push({ at: (started - t0) / 1000, what: fault.what, seconds: (Date.now() - started) / 1000 });
      continue;
    }
    if (state.settled.length === names.length && pendingFaults.length === 0) {
      settledAt = Date.now();
      break;
    }
    await sleep(1000);
  }
  const settled = settledAt > 0;
  const settleSeconds = ((settledAt || Date.now()) - t0) / 1000;
  say(settled ? `all settled after ${settleSeconds.toFixed(1)} s` : `NOT settled after ${settleSeconds.toFixed(0)} s: ${names.length - state.settled.length} left`);
  const rssAtSettle = (operator.rss.at(-1)?.kb ?? 0) / 1024;
  const settleMetrics = await operator.metrics().catch(() => '');
  const gauge = (name: string) => round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(settleMetrics)?.[1] ?? Number.NaN) / 1024 ** 2);
  const heapAtSettle = gauge('nodejs_heap_size_used_bytes');
  const memoryAtSettle = { heapTotalMiB: gauge('nodejs_heap_size_total_bytes'), externalMiB: gauge('nodejs_external_memory_bytes') };
  const { calls: loadCalls, offset: auditSettled } = readAudit(auditStart);
  // Pods of the last held Jobs may still be starting (their status message follows): let them.
  await sleep(15_000);

  // Idle: nothing changes; what does the operator still ask?
  const idleStart = Date.now();
  const { offset: idleOffset } = readAudit(auditSettled);
  await sleep(options.idleSeconds * 1000);
  const idleCalls = readAudit(idleOffset).calls.filter((c) => c.user === OPERATOR_USER && c.at >= idleStart);
  const idleSeconds = (Date.now() - idleStart) / 1000;
  const final = await observe(client, ns, kindOf);
  const rssIdle = (operator.rss.at(-1)?.kb ?? 0) / 1024;
  await operator.stop();
  client.close();
  // Leave the cluster as found: other suites share it, and their operators watch every namespace.
  // The requests go at once (their children follow by garbage collection), the namespace after.
  await kubectl(['delete', 'trainingrequests', '--all', '-n', ns, '--wait=true', '--timeout=120s']).catch((e: unknown) => say(`requests in ${ns} not deleted: ${(e as Error).message}`));
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  await kubectl(['delete', 'persistentvolume', `${ns}-artifacts`, '--wait=false']).catch(() => undefined);

  const reconciles = reconcileLines(operatorLog);
  const loadReconciles = reconciles.filter((r) => r.at <= (settledAt || Date.now()));
  const idleReconciles = reconciles.filter((r) => r.at >= idleStart);
  const times = loadReconciles.map((r) => r.ms).sort((a, b) => a - b);
  const reconcile = times.length
    ? { count: times.length, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), maxMs: times.at(-1)!, source: 'log' as const }
    : { ...histogramQuantiles(operator.incarnations.map((i) => i.metrics ?? '')), source: 'histogram' as const };
  const perSecond = new Map<number, number>();
  for (const r of idleReconciles) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);

  return {
    options: { requests: options.requests, held: options.held, rejected: options.rejected, faults: options.faults, resyncSeconds: options.resyncSeconds, idleSeconds: options.idleSeconds, settleTimeoutSeconds: options.settleTimeoutSeconds, ...(options.operatorRoot ? { operatorRoot: options.operatorRoot } : {}) },
    operatorLog,
    createSeconds,
    settleSeconds,
    settled,
    faults,
    restarts: operator.incarnations.length - 1,
    rss: { readyMiB: round(rssReady), peakMiB: round(operator.peakRssMiB), atSettleMiB: round(rssAtSettle), idleMiB: round(rssIdle), ...rssTimeline(operator.rss, t0), heapUsedAtSettleMiB: round(heapAtSettle), ...memoryAtSettle },
    reconcile,
    calls: account(loadCalls.filter((c) => c.user === OPERATOR_USER && c.at <= (settledAt || Date.now())), known, kindOf),
    idle: {
      seconds: round(idleSeconds),
      readsPerSecond: round(idleCalls.filter(isRead).length / idleSeconds),
      writesPerSecond: round(idleCalls.filter((c) => !isRead(c)).length / idleSeconds),
      byResource: count(idleCalls.map((c) => `${c.verb} ${c.resource}`)),
      reconciles: idleReconciles.length,
      maxReconcilesPerSecond: Math.max(0, ...perSecond.values()),
    },
    checks: final.checks,
  };
}

/** Where every request stands, from the API server. */
async function observe(client: KubeClient, ns: string, kindOf: Map<string, Kind>) {
  const requests = await listAll(client, `${TR}/namespaces/${ns}/trainingrequests`);
  const jobs = await listAll(client, `/apis/batch/v1/namespaces/${ns}/jobs`);
  const jobsOf = new Map<string, number>();
  for (const job of jobs) {
    const owner = job.metadata?.labels?.['traineragent.io/request'];
    if (owner) jobsOf.set(owner, (jobsOf.get(owner) ?? 0) + 1);
  }
  const phase = new Map(requests.map((r) => [r.metadata.name as string, r.status?.observedGeneration === r.metadata.generation ? (r.status?.phase as string | undefined) : undefined]));
  const settled: string[] = [];
  const checks = { lost: [] as string[], wrongPhase: [] as string[], duplicateJobs: [] as string[], unexpectedJobs: [] as string[] };
  for (const [name, kind] of kindOf) {
    if (!phase.has(name)) checks.lost.push(name);
    const jobCount = jobsOf.get(name) ?? 0;
    if (jobCount > 1) checks.duplicateJobs.push(name);
    if (kind !== 'held' && jobCount > 0) checks.unexpectedJobs.push(name);
    const ok = phase.get(name) === EXPECTED[kind] && (kind !== 'held' || jobCount === 1);
    if (ok) settled.push(name);
    else if (phase.get(name)) checks.wrongPhase.push(`${name}: ${phase.get(name)}`);
  }
  return { settled, checks };
}

async function listAll(client: KubeClient, path: string): Promise<any[]> {
  const items: any[] = [];
  let next: string | undefined;
  do {
    const page = await client.request<{ items: any[]; metadata: { continue?: string } }>({ verb: 'list', path, query: { limit: 500, continue: next } });
    items.push(...page.items);
    next = page.metadata.continue || undefined;
  } while (next);
  return items;
}

/** Calls attributed to requests, per kind of request; the rest (informers, Lease) counted apart. */
function account(calls: AuditCall[], known: ReadonlySet<string>, kindOf: Map<string, Kind>): ScaleReport['calls'] {
  const per = new Map<string, { reads: number; writes: number }>();
  let unattributed = 0;
  for (const call of calls) {
    const request = requestOf(call, known);
    if (!request) {
      unattributed += 1;
      continue;
    }
    const entry = per.get(request) ?? { reads: 0, writes: 0 };
    if (isRead(call)) entry.reads += 1;
    else entry.writes += 1;
    per.set(request, entry);
  }
  const perKind: Record<string, KindCalls> = {};
  for (const kind of ['awaiting', 'rejected', 'held'] as Kind[]) {
    const names = [...kindOf].filter(([, k]) => k === kind).map(([n]) => n);
    if (!names.length) continue;
    const entries = names.map((n) => per.get(n) ?? { reads: 0, writes: 0 });
    perKind[kind] = {
      requests: names.length,
      readsMean: round(mean(entries.map((e) => e.reads))),
      writesMean: round(mean(entries.map((e) => e.writes))),
      writesMax: Math.max(...entries.map((e) => e.writes)),
      callsMean: round(mean(entries.map((e) => e.reads + e.writes))),
    };
  }
  return { total: calls.length, byVerb: count(calls.map((c) => c.verb)), perKind, unattributed };
}

/** The operator's "Reconciled TrainingRequest" debug lines: when, and how long. */
function reconcileLines(file: string): { at: number; ms: number; name: string }[] {
  const out: { at: number; ms: number; name: string }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"Reconciled TrainingRequest"')) continue;
    try {
      const e = JSON.parse(line) as { time: string; ms: number; name: string };
      out.push({ at: Date.parse(e.time), ms: e.ms, name: e.name });
    } catch {
      // A line cut by SIGKILL.
    }
  }
  return out;
}

/** p50/p99 from controller_runtime_reconcile_time_seconds buckets (upper bounds), all incarnations. */
function histogramQuantiles(texts: string[]): { count: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const buckets = new Map<number, number>();
  for (const text of texts) {
    for (const m of text.matchAll(/^controller_runtime_reconcile_time_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/gm)) {
      const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  const q = (p: number) => (sorted.find(([, c]) => c >= p * total)?.[0] ?? 0) * 1000;
  return { count: total, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: Number.NaN };
}

/** When the resident memory peaked, and its maximum per 5 s (seconds since the requests were created, MiB). */
function rssTimeline(samples: { at: number; kb: number }[], t0: number): { peakAtSeconds: number; timeline: [number, number][] } {
  const buckets = new Map<number, number>();
  let peak = { at: t0, kb: 0 };
  for (const s of samples) {
    if (s.kb > peak.kb) peak = s;
    const bucket = Math.floor((s.at - t0) / 5000) * 5;
    buckets.set(bucket, Math.max(buckets.get(bucket) ?? 0, s.kb));
  }
  return { peakAtSeconds: round((peak.at - t0) / 1000), timeline: [...buckets].map(([t, kb]) => [t, round(kb / 1024)]) };
}

async function applyYaml(work: string, object: unknown): Promise<void> {
  const file = join(work, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, dump(object));
  await kubectl(['apply', '-f', file]);
}

async function pool<T>(items: T[], size: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round = (x: number) => Math.round(x * 100) / 100;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
function count(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** The report as a few readable lines. */
export function formatReport(r: ScaleReport): string {
  const kinds = Object.entries(r.calls.perKind).map(([k, c]) => `  ${k.padEnd(9)} ${String(c.requests).padStart(5)} requests: ${c.readsMean} reads + ${c.writesMean} writes per request (max ${c.writesMax} writes)`);
  return [
    `Operator at scale: ${r.options.requests} TrainingRequests (${r.options.held} held, ${r.options.rejected} rejected), faults: ${r.faults.map((f) => `${f.what} at ${f.at.toFixed(0)} s (${f.seconds.toFixed(1)} s)`).join(', ') || 'none'}`,
    `  settled: ${r.settled ? 'yes' : 'NO'} after ${r.settleSeconds.toFixed(1)} s (created in ${r.createSeconds.toFixed(1)} s); operator restarts: ${r.restarts}`,
    `  RSS: ready ${r.rss.readyMiB} MiB, peak ${r.rss.peakMiB} MiB (${r.rss.peakAtSeconds} s after the creates), at settle ${r.rss.atSettleMiB} MiB (V8 heap ${r.rss.heapUsedAtSettleMiB} of ${r.rss.heapTotalMiB} MiB used, external ${r.rss.externalMiB} MiB), idle ${r.rss.idleMiB} MiB`,
    `  reconcile (${r.reconcile.source}): ${r.reconcile.count} reconciles, p50 ${r.reconcile.p50Ms} ms, p99 ${r.reconcile.p99Ms} ms, max ${r.reconcile.maxMs} ms`,
    `  API calls while settling: ${r.calls.total} (${Object.entries(r.calls.byVerb).map(([v, n]) => `${v} ${n}`).join(', ')}); not about one request (informers, Lease): ${r.calls.unattributed}`,
    ...kinds,
    `  idle ${r.idle.seconds} s: ${r.idle.readsPerSecond} reads/s, ${r.idle.writesPerSecond} writes/s (${Object.entries(r.idle.byResource).map(([v, n]) => `${v} ${n}`).join(', ') || 'none'}); ${r.idle.reconciles} reconciles, at most ${r.idle.maxReconcilesPerSecond}/s`,
    `  checks: lost ${r.checks.lost.length}, wrong phase ${r.checks.wrongPhase.length}, duplicate Jobs ${r.checks.duplicateJobs.length}, unexpected Jobs ${r.checks.unexpectedJobs.length}`,
  ].join('\n');
}
