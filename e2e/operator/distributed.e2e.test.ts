/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
/**
 * Training across GPUs and nodes on the real control plane (kube-apiserver with RBAC, scheduler,
 * Job controller, kwok GPU nodes), with the operator as a host process and every held pod's real
 * command executed on this machine:
 *
 * - the Indexed-Job path: 2 nodes × 1 GPU behind a headless Service, queued by Kueue (its webhook
 *   played by a real MutatingAdmissionPolicy, its admission by the test, its Workload CRD real),
 *   a lost node restarting the whole group, then two torchrun processes rendezvousing over loopback
 *   and training with DistributedDataParallel (gloo); the result is compared with one process;
 * - more GPUs per node than any node has: Pending with the scheduler's reason;
 * - an exhausted GPU-hour budget: the Job stopped at its deadline, the request Stalled saying so;
 * - with the Kubeflow Trainer v2.0.0 CRDs applied (discovered at the operator's start), TrainJobs the
 *   API server validates against Trainer's schema; the Trainer/JobSet controllers are played (the
 *   node commands run, the conditions set): one goes Ready, a failed one Stalled with its message.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { dump as stringify, load as parseYaml } from 'js-yaml';
import { finishPod, kubeconfigPath, kubectl, loadKubeConfig, repoRoot, serviceAccountKubeConfig, waitFor } from '../cluster/cluster.js';
import { helmBin, installChart } from './helm.js';
import { JobRunner } from './job-runner.js';
import { OperatorProcess } from './operator-process.js';
import { PlayedKueue, PlayedTrainer, kueueWebhookPolicy } from './played-engines.js';

const RELEASE = 'ta';
const RELEASE_NS = 'trainer-agent-system';
const SERVICE_ACCOUNT = 'ta-trainer-agent';
const ns = `dist-${randomBytes(3).toString('hex')}`;
const treq = { group: 'traineragent.io', version: 'v1alpha1', plural: 'trainingrequests' };
const QUEUE_REASON = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100, 1 more needed";
/** DDP against one process on the same data and seed: accuracy on the 100 locked test images within this. */
const TOLERANCE = 0.1;
const started = Date.now();

let admin: KubeConfig;
let work: string;
let artifacts: string;
let torchPython: string;
let operator: OperatorProcess;
let runner: JobRunner;
let kueue: PlayedKueue;
let trainer: PlayedTrainer | undefined;
let crdsDir: string;
let policyFile: string;
const timings: string[] = [];

const getRequest = async (name: string) => (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...treq, namespace: ns, name })) as Record<string, any>;
const condition = (r: Record<string, any>, type: string) => (r['status']?.conditions ?? []).find((c: { type: string }) => c.type === type);
const trainJobsOf = async (request: string) => (await admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns, labelSelector: `traineragent.io/request=${request},traineragent.io/job-kind=train` })).items;
const kind = (job: V1Job) => job.metadata?.labels?.['traineragent.io/job-kind'];

function requestYaml(name: string, resources: Record<string, unknown>, budget: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'traineragent.io/v1alpha1',
    kind: 'TrainingRequest',
    metadata: { name, namespace: ns },
    spec: {
      requirement: 'Classify photos of handwritten digits into their digit with accuracy of at least 50%.',
      data: [
        { name: 'digits', uri: 'pvc://trainer-agent-artifacts/datasets/digits-train', format: 'imagefolder', role: 'train' },
        { name: 'digits-test', uri: 'pvc://trainer-agent-artifacts/datasets/digits-test', format: 'imagefolder', role: 'test' },
      ],
      budget: { maxAttempts: 1, ...budget },
      resources,
    },
  });
}

/** Apply CRD files (server-side: some are too large for the last-applied annotation) and wait until they are served. */
async function applyCrds(files: string[]): Promise<void> {
  for (const file of files) await kubectl(['apply', '--server-side', '-f', join(crdsDir, file)]);
  for (const file of files) {
    const name = file.replace(/\.yaml$/, '').split('_').reverse().join('.');
    await waitFor(`CRD ${name} Established`, async () => ((await kubectl(['get', 'crd', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])) === 'True' ? true : undefined), 60_000, 500);
  }
}

function apply(yaml: string, ...flags: string[]): Promise<string> {
  const file = join(work, `${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, yaml);
  return kubectl(['apply', ...flags, '-f', file]);
}

/** Wait for a condition of a request (and a message); a Stalled one fails the wait unless that is what is awaited. */
async function waitForCondition(name: string, type: string, timeoutMs: number, reason?: string, message?: RegExp): Promise<Record<string, any>> {
  return waitFor(`${name}: ${type}${reason ? ` (${reason})` : ''}${message ? ` ${message}` : ''}`, async () => {
    const r = await getRequest(name);
    const stalled = condition(r, 'Stalled');
    if (type !== 'Stalled' && stalled?.status === 'True') throw new Error(`Stalled: ${stalled.message}`);
    const c = condition(r, type);
    return c?.status === 'True' && (!reason || c.reason === reason) && (!message || message.test(c.message)) ? r : undefined;
  }, timeoutMs, 1000);
}

/** Pods the kubelet (the runner) does not start: the budget's train pod (its deadline stops it) and the first DDP group (a node of it is lost). */
function held(pod: { metadata?: { name?: string; labels?: Record<string, string> } }): boolean {
  const labels = pod.metadata?.labels ?? {};
  return (pod.metadata?.name ?? '').startsWith('budget-train-') || (labels['traineragent.io/request'] === 'ddp' && labels['traineragent.io/job-kind'] === 'train' && labels['traineragent.io/retry'] === '0');
}

/** The operator's config as the chart renders it, with host paths, held pods and the PyTorch image only. */
function operatorConfig(extraJobs: Record<string, unknown> = {}): string {
  const rendered = execFileSync(helmBin(), ['template', RELEASE, join(repoRoot, 'charts/trainer-agent'), '--namespace', RELEASE_NS, '--show-only', 'templates/configmap.yaml'], { encoding: 'utf8' });
  const config = parseYaml((parseYaml(rendered) as { data: Record<string, string> }).data['config.yaml']!) as Record<string, any>;
  config['artifacts'] = { ...config['artifacts'], mountPath: artifacts, localPath: artifacts };
  // Only torch models: the attempts are the ones that train across processes.
  config['jobs'] = { ...config['jobs'], podAnnotations: { 'traineragent.io/hold': 'true' }, resources: { requests: { cpu: '100m', memory: '256Mi' } }, frameworks: ['torch'], ...extraJobs };
  const file = join(work, `operator-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

beforeAll(async () => {
  admin = loadKubeConfig();
  work = mkdtempSync(join(tmpdir(), 'ta-e2e-dist-'));
  artifacts = join(work, 'artifacts');
  mkdirSync(join(artifacts, 'datasets'), { recursive: true });
  torchPython = join(execFileSync('bash', [join(repoRoot, 'images/jobs/scripts/ensure-venv.sh'), join(repoRoot, 'images/jobs/requirements-torch.txt')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim(), 'bin', 'python');
  // scikit-learn's 8×8 digits 0–4 as image folders: 150 to train on (too few for a validation split,
  // so both runs take the same steps), 100 more as the locked test source; 44–57 labelled per class.
  const digits = [
    'from pathlib import Path',
    'from sklearn.datasets import load_digits',
    'from conftest import write_digits, shuffled_indices',
    'target = load_digits().target',
    'order = [i for i in shuffled_indices(1797, 7) if target[i] < 5]',
    `write_digits(Path(${JSON.stringify(join(artifacts, 'datasets/digits-train'))}), order[:150])`,
    `write_digits(Path(${JSON.stringify(join(artifacts, 'datasets/digits-test'))}), order[150:250])`,
  ];
  execFileSync(torchPython, ['-c', digits.join('\n')], { cwd: join(repoRoot, 'images/jobs'), stdio: 'inherit' });
  crdsDir = execFileSync('bash', [join(repoRoot, 'e2e/cluster/third-party-crds.sh')], { encoding: 'utf8' }).trim();

  installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false']);
  await kubectl(['create', 'namespace', ns]);
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-artifacts` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', hostPath: { path: artifacts }, claimRef: { namespace: ns, name: 'trainer-agent-artifacts' } } }));
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'trainer-agent-artifacts', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', volumeName: `${ns}-artifacts`, resources: { requests: { storage: '1Gi' } } } }));
  // Kueue: its Workload CRD (sigs.k8s.io/kueue v0.17.0) and its admission webhook as a policy.
  await applyCrds(['kueue.x-k8s.io_workloads.yaml']);
  policyFile = join(work, 'kueue-policy.yaml');
  writeFileSync(policyFile, kueueWebhookPolicy(ns));
  await kubectl(['apply', '-f', policyFile]);

  runner = new JobRunner(admin, ns, torchPython);
  runner.gate = (pod) => !held(pod);
  runner.start();
  kueue = new PlayedKueue(admin, ns, (job) => kind(job) !== 'train', QUEUE_REASON);
  kueue.start();
  const sa = await serviceAccountKubeConfig(RELEASE_NS, SERVICE_ACCOUNT, admin, 7200);
  writeFileSync(join(work, 'operator.kubeconfig'), sa.exportConfig(), { mode: 0o600 });
  // No Kubeflow Trainer yet: multi-node training runs as an Indexed Job (engine auto).
  operator = new OperatorProcess({ kubeconfig: join(work, 'operator.kubeconfig'), config: operatorConfig(), identity: 'e2e-dist', logFile: join(work, 'operator.log'), supervise: true });
  await operator.start();
  // Started now so their data jobs run beside the first test's.
  await apply(requestYaml('ddp', { gpu: { count: 1 }, nodes: 2, queueName: 'team-a' }));
  await apply(requestYaml('wide', { gpu: { count: 16 } }));
  await apply(requestYaml('budget', { gpu: { count: 1 } }, { maxGpuHours: 0.02 }));
}, 10 * 60_000);

afterAll(async () => {
  kueue?.stop();
  await trainer?.stop();
  await runner?.stop();
  await operator?.stop();
  const quiet = async (args: string[]) => kubectl(args).catch(() => '');
  await quiet(['delete', 'namespace', ns, '--wait=false']);
  if (policyFile) await quiet(['delete', '-f', policyFile]);
  try {
    execFileSync(helmBin(), ['uninstall', RELEASE, `--kubeconfig=${kubeconfigPath}`, '--namespace', RELEASE_NS], { stdio: 'inherit' });
  } catch {
    // best effort
  }
  // Other suites run without Trainer and Kueue.
  if (crdsDir) for (const crd of ['trainjobs.trainer.kubeflow.org', 'clustertrainingruntimes.trainer.kubeflow.org', 'trainingruntimes.trainer.kubeflow.org', 'workloads.kueue.x-k8s.io']) await quiet(['delete', 'crd', crd, '--wait=false']);
  process.stderr.write(`[e2e distributed] ${((Date.now() - started) / 1000).toFixed(0)}s in all (${timings.join('; ')}); operator log: ${join(work, 'operator.log')}\n`);
});

describe('training across GPUs and nodes on a real control plane', () => {
  it('Indexed Job, 2 nodes: queued by Kueue with its reason, a lost node restarts the group, DDP over loopback matches one process, Ready', async () => {
    const t0 = Date.now();
    // Kueue holds the train Job: the request says so, with Kueue's reason, and does not fail.
    const queued = await waitForCondition('ddp', 'Reconciling', 10 * 60_000, 'Queued', /^Attempt 1 is queued: queue team-a: couldn't assign flavors/);
    expect(queued['status'].phase).toBe('Pending');
    expect(condition(queued, 'Reconciling').message).toContain(QUEUE_REASON);
    expect(condition(queued, 'Trained')).toMatchObject({ status: 'False', reason: 'Queued' });
    const [group] = await trainJobsOf('ddp');
    expect(group!.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimit: 0, suspend: true });
    expect(group!.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('team-a');
    const service = await admin.makeApiClient(CoreV1Api).readNamespacedService({ namespace: ns, name: group!.metadata!.labels!['traineragent.io/group']! });
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });

    // Admitted; the first group's pods are held, and one of them is lost: the group fails as a whole.
    kueue.admit = () => true;
    const core = admin.makeApiClient(CoreV1Api);
    const firstPods = await waitFor('both pods of the first group Running', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${group!.metadata!.name}` })).items.filter((p) => p.status?.phase === 'Running');
      return pods.length === 2 ? pods : undefined;
    }, 3 * 60_000, 500);
    expect(firstPods.map((p) => p.spec!.hostname).sort()).toEqual([`${group!.metadata!.name}-0`, `${group!.metadata!.name}-1`]);
    const lost = firstPods.find((p) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'] === '1')!;
    await finishPod(ns, lost.metadata!.name!, 1, '{"ok":false,"kind":"error","job":"train","error":"RuntimeError: node lost (simulated)"}', admin);

    const ready = await waitForCondition('ddp', 'Ready', 25 * 60_000);
    timings.push(`Indexed Job DDP request Ready in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    const jobs = await trainJobsOf('ddp');
    expect(jobs.map((j) => j.metadata!.name).sort()).toEqual([group!.metadata!.name, `${group!.metadata!.name}-r1`]);
    const retried = runner.runs.filter((r) => r.pod.startsWith(`${group!.metadata!.name}-r1-`));
    expect(retried).toHaveLength(2);
    expect(retried.every((r) => r.exitCode === 0)).toBe(true);
    expect(kueue.admitted).toEqual(expect.arrayContaining(jobs.map((j) => j.metadata!.name)));

    const attempt = ready['status'].attempts[0];
    expect(attempt.note).toMatch(/in 2 processes \(DistributedDataParallel\)/);
    expect(attempt.note).toMatch(/started again \(retry 1\)/);
    const outDir = join(artifacts, ns, 'ddp', 'jobs', group!.metadata!.labels!['traineragent.io/group']!);
    const result = JSON.parse(readFileSync(join(outDir, 'result.json'), 'utf8'));
    expect(result.training.processes).toBe(2);

    // The same spec in one process, on this machine: the DDP result matches it within the tolerance.
    const single = join(work, 'single');
    const t1 = Date.now();
    execFileSync(torchPython, ['-m', 'trainer_agent_jobs.train', '--spec', join(outDir, 'spec.json'), '--out', single], { cwd: join(repoRoot, 'images/jobs'), env: { ...process.env, PYTHONPATH: join(repoRoot, 'images/jobs') }, stdio: ['ignore', 'ignore', 'inherit'] });
    timings.push(`single-process reference ${((Date.now() - t1) / 1000).toFixed(0)}s`);
    const reference = JSON.parse(readFileSync(join(single, 'result.json'), 'utf8'));
    const delta = Math.abs(result.metrics.accuracy - reference.metrics.accuracy);
    process.stderr.write(`[e2e distributed] DDP 2 nodes × 1 process: accuracy ${result.metrics.accuracy.toFixed(4)} in ${result.training.steps} steps; one process: ${reference.metrics.accuracy.toFixed(4)} in ${reference.training.steps} steps; |Δ| = ${delta.toFixed(4)} (tolerance ${TOLERANCE})\n`);
    expect(result.training.steps).toBe(reference.training.steps);
    expect(delta).toBeLessThanOrEqual(TOLERANCE);
    expect(result.metrics.accuracy).toBeGreaterThan(0.5);
  }, 45 * 60_000);

  it('more GPUs per node than any node has: Pending with the scheduler\'s reason, not Failed', async () => {
    const r = await waitForCondition('wide', 'Reconciling', 10 * 60_000, 'Unschedulable');
    expect(r['status'].phase).toBe('Pending');
    expect(condition(r, 'Reconciling').message).toMatch(/Attempt 1 is waiting for nodes: pod wide-train-1-\w+-\w+: 0\/3 nodes are available: .*Insufficient nvidia\.com\/gpu/);
    expect(condition(r, 'Stalled').status).toBe('False');
    await kubectl(['delete', 'trainingrequest', 'wide', '-n', ns, '--wait=false']);
  }, 12 * 60_000);

  it('an exhausted GPU-hour budget stops the Job at its deadline and says so', async () => {
    // The train pod runs (held) until the budget's deadline: 0.02 GPU-hours on 1 GPU is 72 s.
    const [job] = await waitFor('the budget train Job', async () => ((await trainJobsOf('budget')).length ? trainJobsOf('budget') : undefined), 10 * 60_000, 1000);
    expect(job!.spec!.activeDeadlineSeconds).toBe(72);
    const r = await waitForCondition('budget', 'Stalled', 5 * 60_000, 'GpuBudgetExhausted');
    expect(condition(r, 'Stalled').message).toMatch(/GPU-hour budget exhausted: .* of 0\.02 GPU-hours used and no attempt finished \(#1 image-cnn-small: its Job was stopped when the GPU-hour budget ran out/);
    expect(r['status'].phase).toBe('Failed');
    const [stopped] = await trainJobsOf('budget');
    expect((stopped!.status?.conditions ?? []).find((c) => c.type === 'Failed')?.reason).toBe('DeadlineExceeded');
  }, 12 * 60_000);

  it('with Kubeflow Trainer v2.0.0: TrainJobs the API server accepts; played to Complete (Ready) and to Failed (Stalled with its message)', async () => {
    const t0 = Date.now();
    await applyCrds(['trainer.kubeflow.org_trainjobs.yaml', 'trainer.kubeflow.org_clustertrainingruntimes.yaml', 'trainer.kubeflow.org_trainingruntimes.yaml']);
    // The chart's runtime (artifacts claim mounted) goes through Trainer's schema too.
    installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false', 'trainingRuntime.create=true']);
    expect(await kubectl(['get', 'clustertrainingruntime', `${RELEASE}-trainer-agent-torch`, '-o', 'name'])).toContain('ta-trainer-agent-torch');
    // A restarted operator discovers trainjobs.trainer.kubeflow.org; no group retries, so a failed TrainJob fails the attempt.
    await operator.stop();
    operator = new OperatorProcess({ kubeconfig: join(work, 'operator.kubeconfig'), config: operatorConfig({ backoffLimit: 0, distributed: { runtimeRef: { name: `${RELEASE}-trainer-agent-torch`, kind: 'ClusterTrainingRuntime' } } }), identity: 'e2e-dist', logFile: join(work, 'operator.log'), supervise: true });
    await operator.start();
    trainer = new PlayedTrainer(admin, ns, torchPython, (tj) => (tj['metadata'].labels['traineragent.io/request'] === 'tjfail' ? { fail: 'jobset tjfail failed: replicated job node, pod tjfail-node-1-0 OOMKilled (exit code 137)' } : { run: true }));
    trainer.start();
    await apply(requestYaml('tj', { gpu: { count: 1 }, nodes: 2 }));
    await apply(requestYaml('tjfail', { gpu: { count: 1 }, nodes: 2 }));

    const custom = admin.makeApiClient(CustomObjectsApi);
    const tj = await waitFor('the TrainJob of tj', async () => ((await custom.listNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainjobs', namespace: ns, labelSelector: 'traineragent.io/request=tj' })) as { items: Record<string, any>[] }).items[0], 10 * 60_000, 1000);
    expect(tj['spec'].runtimeRef).toEqual({ apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime', name: `${RELEASE}-trainer-agent-torch` });
    expect(tj['spec'].trainer).toMatchObject({ command: ['torchrun'], numNodes: 2, resourcesPerNode: { limits: { 'nvidia.com/gpu': '1' } } });
    expect(await trainJobsOf('tj')).toEqual([]);

    const failed = await waitForCondition('tjfail', 'Stalled', 10 * 60_000, 'TrainingFailed');
    expect(condition(failed, 'Stalled').message).toMatch(/TrainJob tjfail-train-1-\w+ failed: FailedJobs: jobset tjfail failed: replicated job node, pod tjfail-node-1-0 OOMKilled/);
    const ready = await waitForCondition('tj', 'Ready', 25 * 60_000);
    timings.push(`TrainJob requests settled in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    expect(ready['status'].attempts[0].note).toMatch(/in 2 processes \(DistributedDataParallel\)/);
    expect(trainer.runs.filter((r) => r.trainJob === tj['metadata'].name).map((r) => r.exitCode)).toEqual([0, 0]);
  }, 45 * 60_000);
});
