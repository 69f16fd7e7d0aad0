/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
/**
 * The operator on a real control plane (kube-apiserver with RBAC, controller-manager, scheduler,
 * kwok GPU nodes): the chart installed with Helm, the operator running as a host process with the
 * chart ServiceAccount's token, job pods held by kwok and executed for real on this machine, a
 * TrainingRequest driven to Ready, then deleted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { dump as stringify, load as parseYaml } from 'js-yaml';
import { kubeconfigPath, kubectl, loadKubeConfig, repoRoot, serviceAccountKubeConfig, waitFor } from '../cluster/cluster.js';
import { helmBin, installChart } from './helm.js';
import { JobRunner } from './job-runner.js';

const RELEASE = 'ta';
const RELEASE_NS = 'trainer-agent-system';
const SERVICE_ACCOUNT = 'ta-trainer-agent';
const ns = `treq-${randomBytes(3).toString('hex')}`;
const treq = { group: 'traineragent.io', version: 'v1alpha1', plural: 'trainingrequests' };
const started = Date.now();

let admin: KubeConfig;
let work: string;
let artifacts: string;
let operator: ChildProcess | undefined;
let probePort = 0;
let runner: JobRunner;
let operatorLog: string;

const python = () => join(execFileSync('bash', [join(repoRoot, 'images/jobs/scripts/ensure-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim(), 'bin', 'python');

async function startOperator(): Promise<void> {
  const sa = await serviceAccountKubeConfig(RELEASE_NS, SERVICE_ACCOUNT, admin);
  const kubeconfig = join(work, 'operator.kubeconfig');
  writeFileSync(kubeconfig, sa.exportConfig(), { mode: 0o600 });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const log = join(work, `operator-${Date.now()}.log`);
  operatorLog = log;
  const out = (await import('node:fs')).openSync(log, 'a');
  operator = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e/operator/run-operator.ts'), `--kubeconfig=${kubeconfig}`, `--config=${join(work, 'operator.yaml')}`, `--probe-port=${port}`, '--probe-host=127.0.0.1', '--log-level=debug', `--identity=e2e-${Date.now()}`], { cwd: repoRoot, stdio: ['ignore', out, out], env: { ...process.env, NODE_OPTIONS: '' } });
  probePort = port;
  await waitFor('operator /readyz', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined), 60_000, 500);
}

async function stopOperator(): Promise<void> {
  const child = operator;
  operator = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

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
  config['requeueWhileRunningSeconds'] = 1;
  writeFileSync(join(work, 'operator.yaml'), stringify(config));

  runner = new JobRunner(admin, ns, python());
  runner.start();
  await startOperator();
}, 10 * 60_000);

afterAll(async () => {
  await runner?.stop();
  await stopOperator();
  try {
    execFileSync(helmBin(), ['uninstall', RELEASE, `--kubeconfig=${kubeconfigPath}`, '--namespace', RELEASE_NS], { stdio: 'inherit' });
  } catch {
    // best effort
  }
  process.stderr.write(`[e2e operator] ${((Date.now() - started) / 1000).toFixed(0)}s in all; operator log: ${operatorLog}\n`);
});

describe('TrainerAgent operator on a real control plane', () => {
  it('the API server rejects an invalid request (CRD schema)', async () => {
    const bad = requestYaml('bad', {}, { format: 'xml' });
    await expect(apply(bad)).rejects.toThrow(/format|Unsupported value/);
  });

  it('takes a request to Ready: GPU Jobs on GPU nodes, no duplicates across a restart, Triton sized by the estimate, API doc', async () => {
    const batch = admin.makeApiClient(BatchV1Api);
    // Hold the first train pod until the operator was restarted once.
    let restarted = false;
    runner.gate = (pod) => restarted || pod.metadata?.labels?.['traineragent.io/job-kind'] !== 'train';
    await apply(requestYaml('spam'));

    const trainJob = await waitFor('a train Job', async () => (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'traineragent.io/job-kind=train' })).items[0], 5 * 60_000, 500);
    expect(trainJob.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('1');
    expect(trainJob.metadata!.labels).not.toHaveProperty('app.kubernetes.io/instance');
    const core = admin.makeApiClient(CoreV1Api);
    const trainPod = await waitFor('the train pod scheduled', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${trainJob.metadata!.name}` })).items.find((p) => p.spec?.nodeName), 60_000);
    expect(trainPod.spec!.nodeName).toMatch(/^kwok-gpu-/);
    const before = await getRequest('spam');
    expect(before['status'].phase).toBe('Training');

    // Restart the operator mid-training: no Job is duplicated and status is kept.
    await stopOperator();
    await startOperator();
    await new Promise((r) => setTimeout(r, 3000));
    const jobsAfter: V1Job[] = (await batch.listNamespacedJob({ namespace: ns })).items;
    expect(jobsAfter.filter((j) => j.metadata!.labels!['traineragent.io/job-kind'] === 'train')).toHaveLength(1);
    expect((await getRequest('spam'))['status'].task).toEqual(before['status'].task);
    restarted = true;

    await waitFor('Ready', async () => {
      const r = await getRequest('spam');
      const stalled = condition(r, 'Stalled');
      if (stalled?.status === 'True') throw new Error(`Stalled: ${stalled.message}`);
      return condition(r, 'Ready')?.status === 'True' ? r : undefined;
    }, 12 * 60_000, 1000);
    await kubectl(['wait', '--for=condition=Ready', `trainingrequest/spam`, '-n', ns, '--timeout=30s']);

    const ready = await getRequest('spam');
    const status = ready['status'];
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
    expect(runner.runs.filter((r) => r.kind === 'train').every((r) => r.node?.startsWith('kwok-gpu-'))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${probePort}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="trainingrequest",result="(success|requeue_after)"\}/);
    expect(metrics).toMatch(/leader_election_master_status\{name="ta-trainer-agent-leader"\} 1/);
  }, 20 * 60_000);

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
