/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
/**
 * The operator on a real control plane (kube-apiserver with RBAC, controller-manager, scheduler,
 * kwok GPU nodes): the chart installed with Helm, the operator running as a host process
 * (bin/trainer-agent.mjs) with the chart ServiceAccount's token, job pods held by kwok and executed
 * for real on this machine, a TrainingRequest driven to Ready through faults — the operator
 * SIGKILLed while each kind of Job runs, the API server restarted mid-training — then deleted.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { dump as stringify, load as parseYaml } from 'js-yaml';
import { clusterDir, kubeconfigPath, kubectl, loadKubeConfig, repoRoot, serviceAccountKubeConfig, waitFor } from '../cluster/cluster.js';
import { helmBin, installChart } from './helm.js';
import { JobRunner } from './job-runner.js';
import { OperatorProcess } from './operator-process.js';

const RELEASE = 'ta';
const RELEASE_NS = 'trainer-agent-system';
const SERVICE_ACCOUNT = 'ta-trainer-agent';
const ns = `treq-${randomBytes(3).toString('hex')}`;
const treq = { group: 'traineragent.io', version: 'v1alpha1', plural: 'trainingrequests' };
const started = Date.now();
const run = promisify(execFile);

let admin: KubeConfig;
let work: string;
let artifacts: string;
let operator: OperatorProcess;
let runner: JobRunner;

const python = () => join(execFileSync('bash', [join(repoRoot, 'images/jobs/scripts/ensure-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim(), 'bin', 'python');

async function getRequest(name: string): Promise<Record<string, any>> {
  return (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...treq, namespace: ns, name })) as Record<string, any>;
}
const condition = (r: Record<string, any>, type: string) => (r['status']?.conditions ?? []).find((c: { type: string }) => c.type === type);

function requestYaml(name: string, extra: Record<string, unknown> = {}, data: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'traineragent.io/v1alpha1',
    kind: 'TrainingRequest',
    metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/instance': 'argocd-app-that-owns-the-request' } },
    spec: {
      requirement: 'Classify emails as spam or ham with accuracy of at least 90%. Serve 20 requests per second with p99 latency under 200 ms in 1GB containers.',
      data: [{ name: 'emails', uri: 'pvc://trainer-agent-artifacts/datasets/emails.jsonl', format: 'jsonl', role: 'train', textColumn: 'text', labelColumn: 'label', ...data }],
      budget: { maxAttempts: 2 },
      resources: { gpu: { count: 1 } },
      ...extra,
    },
  });
}

function apply(yaml: string): Promise<string> {
  const file = join(work, `${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, yaml);
  return kubectl(['apply', '-f', file]);
}

beforeAll(async () => {
  admin = loadKubeConfig();
  work = mkdtempSync(join(tmpdir(), 'ta-e2e-op-'));
  artifacts = join(work, 'artifacts');
  mkdirSync(join(artifacts, 'datasets'), { recursive: true });

  // A small real data set: every 12th SpamAssassin email (about 500, both classes).
  const source = join(repoRoot, 'examples/spam-filter/data/spamassassin.jsonl');
  if (!existsSync(source)) execFileSync(process.execPath, [join(repoRoot, 'examples/spam-filter/prepare-data.mjs')], { cwd: repoRoot, stdio: 'inherit' });
  const lines = readFileSync(source, 'utf8').split('\n').filter(Boolean).filter((_, i) => i % 12 === 0);
  writeFileSync(join(artifacts, 'datasets/emails.jsonl'), `${lines.join('\n')}\n`);

  installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false']);
  await kubectl(['create', 'namespace', ns]);
  // The artifacts claim: a hostPath volume at the very path jobs and the operator use on this host.
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-artifacts` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', hostPath: { path: artifacts }, claimRef: { namespace: ns, name: 'trainer-agent-artifacts' } } }));
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'trainer-agent-artifacts', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', volumeName: `${ns}-artifacts`, resources: { requests: { storage: '1Gi' } } } }));
  // The operator's config as the chart renders it, with host paths and held job pods.
  const rendered = execFileSync(helmBin(), ['template', RELEASE, join(repoRoot, 'charts/trainer-agent'), '--namespace', RELEASE_NS, '--show-only', 'templates/configmap.yaml'], { encoding: 'utf8' });
  const config = parseYaml((parseYaml(rendered) as { data: Record<string, string> }).data['config.yaml']!) as Record<string, any>;
  config['artifacts'] = { ...config['artifacts'], mountPath: artifacts, localPath: artifacts };
  config['jobs'] = { ...config['jobs'], podAnnotations: { 'traineragent.io/hold': 'true' }, resources: { requests: { cpu: '100m', memory: '256Mi' } } };
  writeFileSync(join(work, 'operator.yaml'), stringify(config));

  runner = new JobRunner(admin, ns, python());
  runner.start();
  const sa = await serviceAccountKubeConfig(RELEASE_NS, SERVICE_ACCOUNT, admin, 7200);
  writeFileSync(join(work, 'operator.kubeconfig'), sa.exportConfig(), { mode: 0o600 });
  // Supervised like a pod's container: an operator that exits (a lease lost while the API server
  // is down) is started again under the same identity.
  operator = new OperatorProcess({ kubeconfig: join(work, 'operator.kubeconfig'), config: join(work, 'operator.yaml'), identity: 'e2e-operator', logFile: join(work, 'operator.log'), supervise: true });
  await operator.start();
}, 10 * 60_000);

afterAll(async () => {
  await runner?.stop();
  await operator?.stop();
  try {
    execFileSync(helmBin(), ['uninstall', RELEASE, `--kubeconfig=${kubeconfigPath}`, '--namespace', RELEASE_NS], { stdio: 'inherit' });
  } catch {
    // best effort
  }
  process.stderr.write(`[e2e operator] ${((Date.now() - started) / 1000).toFixed(0)}s in all; operator log: ${join(work, 'operator.log')}\n`);
});

describe('TrainerAgent operator on a real control plane', () => {
  it('the API server rejects an invalid request (CRD schema)', async () => {
    const bad = requestYaml('bad', {}, { format: 'xml' });
    await expect(apply(bad)).rejects.toThrow(/format|Unsupported value/);
  });

  it('takes a request to Ready through faults: operator SIGKILL while each Job runs, API server restart mid-training; no duplicate Job, no lost status', async () => {
    const batch = admin.makeApiClient(BatchV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    // Pods of each kind of Job are held Running until the test has injected its fault.
    const released = new Set<string>();
    runner.gate = (pod) => released.has(pod.metadata?.labels?.['traineragent.io/job-kind'] ?? '');
    await apply(requestYaml('spam'));
    const jobsOf = async (kind: string) => (await batch.listNamespacedJob({ namespace: ns, labelSelector: `traineragent.io/request=spam,traineragent.io/job-kind=${kind}` })).items;
    const runningPod = (job: V1Job) => waitFor(`a Running pod of ${job.metadata!.name}`, async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${job.metadata!.name}` })).items.find((p) => p.status?.phase === 'Running' && p.spec?.nodeName), 120_000, 250);
    const kept = (before: Record<string, any>, after: Record<string, any>) => {
      // Nothing the operator wrote is lost: what it had decided is still there, unchanged.
      for (const field of ['task', 'plan', 'conversation', 'observedGeneration']) expect(after['status'][field]).toEqual(before['status'][field]);
      for (const c of before['status'].conditions.filter((x: { type: string; status: string }) => x.status === 'True' && !['Reconciling', 'Ready', 'Stalled', 'AwaitingInput'].includes(x.type))) {
        expect(condition(after, c.type)).toMatchObject({ status: 'True', lastTransitionTime: c.lastTransitionTime });
      }
    };
    const faults: string[] = [];
    const kill9 = async (phase: string) => {
      const before = await getRequest('spam');
      expect(before['status'].phase).toBe(phase);
      await operator.kill9();
      await operator.start();
      // A fresh process: caches rebuilt from the API server, the Job found by its name, not created again.
      await new Promise((r) => setTimeout(r, 2000));
      kept(before, await getRequest('spam'));
      faults.push(`SIGKILL in ${phase}`);
    };

    // PreparingData: the data Job runs; the operator is killed.
    // Generous waits: the jobs really train on this machine, which CI may share.
    const [dataJob] = await waitFor('the data Job', async () => ((await jobsOf('data')).length ? jobsOf('data') : undefined), 5 * 60_000, 500);
    await runningPod(dataJob!);
    await kill9('PreparingData');
    expect(await jobsOf('data')).toHaveLength(1);
    released.add('data');

    // Training: the API server restarts, then the operator is killed. The request allows a GPU, but the
    // attempt is a classic model: only torch training asks for one.
    const [trainJob] = await waitFor('a train Job', async () => ((await jobsOf('train')).length ? jobsOf('train') : undefined), 15 * 60_000, 500);
    expect(trainJob!.spec!.template.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(trainJob!.metadata!.labels).not.toHaveProperty('app.kubernetes.io/instance');
    const trainPod = await runningPod(trainJob!);
    expect(trainPod.spec!.nodeName).toBeDefined();
    const beforeRestart = await getRequest('spam');
    expect(beforeRestart['status'].phase).toBe('Training');
    await run('bash', [join(clusterDir, 'restart-apiserver.sh'), '2'], { timeout: 180_000 });
    faults.push('API server restart in Training');
    await waitFor('the operator serving again', async () => (operator.alive && (await fetch(`http://127.0.0.1:${operator.port}/readyz`).catch(() => undefined))?.ok ? true : undefined), 120_000, 500);
    kept(beforeRestart, await getRequest('spam'));
    await kill9('Training');
    expect(await jobsOf('train')).toHaveLength(1);
    released.add('train');

    // Converting: the convert Job runs; the operator is killed.
    const [convertJob] = await waitFor('the convert Job', async () => ((await jobsOf('convert')).length ? jobsOf('convert') : undefined), 15 * 60_000, 500);
    await runningPod(convertJob!);
    await kill9('Converting');
    expect(await jobsOf('convert')).toHaveLength(1);
    released.add('convert');

    const ready = await waitFor('Ready', async () => {
      const r = await getRequest('spam');
      const stalled = condition(r, 'Stalled');
      if (stalled?.status === 'True') throw new Error(`Stalled: ${stalled.message}`);
      return condition(r, 'Ready')?.status === 'True' ? r : undefined;
    }, 15 * 60_000, 500);
    await kubectl(['wait', '--for=condition=Ready', `trainingrequest/spam`, '-n', ns, '--timeout=30s']);
    process.stderr.write(`[e2e operator] faults survived: ${faults.join(', ')}; operator incarnations: ${operator.incarnations.length}\n`);

    // One Job per step: one data, one per recorded attempt, one convert; each pod ran once.
    const status = ready['status'];
    const jobs: V1Job[] = (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'traineragent.io/request=spam' })).items;
    const byKind = (kind: string) => jobs.filter((j) => j.metadata!.labels!['traineragent.io/job-kind'] === kind);
    expect(byKind('data')).toHaveLength(1);
    expect(byKind('convert')).toHaveLength(1);
    expect(byKind('train')).toHaveLength(status.attempts.length);
    expect(new Set(runner.runs.map((r) => r.pod)).size).toBe(runner.runs.length);
    expect(runner.runs.filter((r) => r.kind === 'data')).toHaveLength(1);

    expect(status.phase).toBe('Ready');
    expect(status.observedGeneration).toBe(ready['metadata'].generation);
    expect(status.endpoint.url).toBe(`http://spam-triton.${ns}.svc:8000/v2/models/spam`);
    const deployment = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'spam-triton' });
    expect(deployment.spec!.replicas).toBe(status.estimate.replicas);
    expect(deployment.metadata!.ownerReferences![0]!.uid).toBe(ready['metadata'].uid);
    const doc = await core.readNamespacedConfigMap({ namespace: ns, name: 'spam-api' });
    expect(JSON.parse(doc.data!['openapi.json']!).openapi).toMatch(/^3\.1/);
    expect(existsSync(join(artifacts, ns, 'spam', 'api', 'openapi.json'))).toBe(true);
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=spam' });
    expect(events.items.length).toBeGreaterThan(0);
    expect(runner.runs.filter((r) => r.kind === 'train').length).toBeGreaterThan(0);
    const metrics = await operator.metrics();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="trainingrequest",result="(success|requeue_after)"\}/);
    expect(metrics).toMatch(/leader_election_master_status\{name="ta-trainer-agent-leader"\} 1/);
    // Secrets never reach logs: the ServiceAccount token the operator runs with is not in its log.
    const token = (JSON.parse(readFileSync(join(work, 'operator.kubeconfig'), 'utf8')) as { users: { user: { token: string } }[] }).users[0]!.user.token;
    expect(readFileSync(join(work, 'operator.log'), 'utf8')).not.toContain(token.slice(-24));
  }, 50 * 60_000);

  it('a failed Job surfaces as Stalled with the pod\'s message', async () => {
    await apply(requestYaml('broken', {}, { textColumn: 'no_such_column' }));
    const r = await waitFor('Stalled', async () => {
      const got = await getRequest('broken');
      return condition(got, 'Stalled')?.status === 'True' ? got : undefined;
    }, 5 * 60_000, 1000);
    expect(condition(r, 'Stalled').message).toMatch(/no_such_column/);
    expect(condition(r, 'Ready').status).toBe('False');
  }, 6 * 60_000);

  it('deleting a request deletes its children', async () => {
    await kubectl(['delete', 'trainingrequest', 'spam', '-n', ns, '--wait=true', '--timeout=60s']);
    const batch = admin.makeApiClient(BatchV1Api);
    const apps = admin.makeApiClient(AppsV1Api);
    await waitFor('children garbage-collected', async () => {
      const jobs = (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'traineragent.io/request=spam' })).items;
      const deployments = (await apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'traineragent.io/request=spam' })).items;
      return jobs.length === 0 && deployments.length === 0 ? true : undefined;
    }, 90_000, 1000);
  }, 2 * 60_000);
});
