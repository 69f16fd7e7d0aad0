import { OperatorConfig } from '../config.js';
import type { TrainingRequest } from '../../api/training-request.js';
import type { JobRequest } from '../../pipeline/types.js';
import { GPU_RESOURCE, buildJob } from './job.js';
import { GITOPS_TRACKING_KEYS } from './meta.js';

const owner = { name: 'spam-filter', namespace: 'team-a', uid: 'uid-1' };
const config = OperatorConfig.parse({ images: { trainer: 'trainer:1', converter: 'converter:1' } });
const spec = (extra: Partial<TrainingRequest['spec']> = {}): TrainingRequest['spec'] => ({ requirement: 'spam filter', approval: 'auto', ...extra }) as TrainingRequest['spec'];
const job = (extra: Partial<JobRequest> = {}): JobRequest => ({ name: 'spam-filter-train-1-0123456789', kind: 'train', outDir: '/artifacts/team-a/spam-filter/jobs/spam-filter-train-1-0123456789', spec: { a: 1 }, attempt: 1, runtime: 'torch', ...extra });

describe('buildJob', () => {
  it.each([
    { name: 'a train job that wants a GPU gets the requested count', spec: spec({ resources: { gpu: { count: 2 } } }), job: job({ gpu: true }), gpus: '2' },
    { name: 'a GPU job on a CPU-only request gets none', spec: spec(), job: job({ gpu: true }), gpus: undefined },
    { name: 'a data job never gets a GPU even when the request has one', spec: spec({ resources: { gpu: { count: 1 } } }), job: job({ kind: 'data', gpu: undefined }), gpus: undefined },
    { name: 'zero GPUs asked: none', spec: spec({ resources: { gpu: { count: 0 } } }), job: job({ gpu: true }), gpus: undefined },
  ])('$name', ({ spec, job, gpus }) => {
    const built = buildJob({ owner, spec, job, config });
    const container = built.spec!.template.spec!.containers[0]!;
    expect(container.resources?.limits?.[GPU_RESOURCE]).toBe(gpus);
    const tolerates = (built.spec!.template.spec!.tolerations ?? []).some((t) => t.key === GPU_RESOURCE);
    expect(tolerates).toBe(gpus !== undefined);
  });

  it.each([
    { kind: 'data' as const, image: 'trainer:1' },
    { kind: 'train' as const, image: 'trainer:1' },
    { kind: 'convert' as const, image: 'converter:1' },
  ])('runs python -m trainer_agent_jobs.$kind from $image', ({ kind, image }) => {
    const j = job({ kind });
    const c = buildJob({ owner, spec: spec(), job: j, config }).spec!.template.spec!.containers[0]!;
    expect(c.image).toBe(image);
    expect(c.command).toEqual(['python', '-m', `trainer_agent_jobs.${kind}`]);
    expect(c.args).toEqual(['--spec', `${j.outDir}/spec.json`, '--out', j.outDir, '--termination-log', '/dev/termination-log']);
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
  });

  it('names the Job deterministically, owns it, and sets the failure policy', () => {
    const built = buildJob({ owner, spec: spec(), job: job(), config });
    expect(built.metadata!.name).toBe('spam-filter-train-1-0123456789');
    expect(built.metadata!.ownerReferences).toEqual([{ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', name: 'spam-filter', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    expect(built.spec!.backoffLimit).toBe(1);
    expect(built.spec!.activeDeadlineSeconds).toBe(86400);
    expect(built.spec!.podFailurePolicy!.rules[0]).toEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    expect(built.spec!.template.spec!.restartPolicy).toBe('Never');
    expect(built.spec!).not.toHaveProperty('ttlSecondsAfterFinished');
  });

  it.each([
    { name: 'the default claim at the fixed mount path', spec: spec(), claim: 'trainer-agent-artifacts', subPath: undefined },
    { name: "the request's own claim with a subPath", spec: spec({ storage: { pvc: { claimName: 'mine', subPath: 'runs' } } }), claim: 'mine', subPath: 'runs' },
  ])('mounts the artifacts volume: $name', ({ spec, claim, subPath }) => {
    const pod = buildJob({ owner, spec, job: job(), config }).spec!.template.spec!;
    expect(pod.volumes!.find((v) => v.name === 'artifacts')!.persistentVolumeClaim!.claimName).toBe(claim);
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.name === 'artifacts')!;
    expect(mount.mountPath).toBe('/artifacts');
    expect(mount.subPath).toBe(subPath);
  });

  it('merges node selectors, GPU product and tolerations from the chart and the request', () => {
    const cfg = OperatorConfig.parse({ jobs: { nodeSelector: { pool: 'training' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], gpuRuntimeClassName: 'nvidia', podAnnotations: { 'traineragent.io/hold': 'true' } } });
    const s = spec({ resources: { gpu: { count: 1, type: 'NVIDIA-H100-80GB-HBM3' }, nodeSelector: { zone: 'a' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }] } });
    const built = buildJob({ owner, spec: s, job: job({ gpu: true }), config: cfg });
    const pod = built.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ pool: 'training', zone: 'a', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }, { key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.runtimeClassName).toBe('nvidia');
    expect(built.spec!.template.metadata!.annotations).toEqual({ 'traineragent.io/hold': 'true' });
  });

  it('runs restricted: non-root, no privilege escalation, all capabilities dropped, read-only root', () => {
    const pod = buildJob({ owner, spec: spec(), job: job(), config }).spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0]!.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('mounts other data claims read-only', () => {
    const pod = buildJob({ owner, spec: spec(), job: job({ kind: 'data' }), config, dataMounts: [{ claimName: 'datasets', mountPath: '/mnt/data/datasets' }] }).spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'data-0', persistentVolumeClaim: { claimName: 'datasets', readOnly: true } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'data-0', mountPath: '/mnt/data/datasets', readOnly: true });
  });

  it('never carries GitOps tracking labels, whatever the request had', () => {
    const built = buildJob({ owner, spec: spec(), job: job(), config });
    for (const key of GITOPS_TRACKING_KEYS) {
      expect(built.metadata!.labels).not.toHaveProperty(key);
      expect(built.spec!.template.metadata!.labels).not.toHaveProperty(key);
    }
    expect(built.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'trainer-agent', 'traineragent.io/request': 'spam-filter', 'traineragent.io/job-kind': 'train' });
  });

  it('is pure: the same input builds the same Job', () => {
    expect(buildJob({ owner, spec: spec(), job: job(), config })).toEqual(buildJob({ owner, spec: spec(), job: job(), config }));
  });
});

describe('buildJob for distributed training, queues and budgets', () => {
  it.each([
    { name: 'one process: python -m, as before', placement: undefined, command: ['python', '-m', 'trainer_agent_jobs.train'], first: '--spec' },
    { name: 'four GPUs on one node: torchrun --standalone, one process per GPU', placement: { nodes: 1, gpusPerNode: 4, processesPerNode: 4 }, command: ['torchrun'], first: '--standalone' },
  ])('$name', ({ placement, command, first }) => {
    const c = buildJob({ owner, spec: spec({ resources: { gpu: {} } }), job: job({ gpu: true, ...(placement ? { placement } : {}) }), config }).spec!.template.spec!.containers[0]!;
    expect(c.command).toEqual(command);
    expect(c.args![0]).toBe(first);
    if (placement) expect(c.args!.slice(0, 4)).toEqual(['--standalone', '--nproc_per_node=4', '-m', 'trainer_agent_jobs.train']);
    expect(c.resources?.limits?.[GPU_RESOURCE]).toBe(placement ? '4' : '1');
  });

  it.each([
    { name: 'no queue anywhere: no Kueue label', spec: spec(), config, queue: undefined },
    { name: "the chart's default queue", spec: spec(), config: OperatorConfig.parse({ jobs: { queueName: 'batch' } }), queue: 'batch' },
    { name: "the request's queue wins over the chart's", spec: spec({ resources: { queueName: 'team-a-gpus' } }), config: OperatorConfig.parse({ jobs: { queueName: 'batch' } }), queue: 'team-a-gpus' },
  ])('Kueue: $name (on the Job, not its pods)', ({ spec, config, queue }) => {
    const built = buildJob({ owner, spec, job: job(), config });
    expect(built.metadata!.labels?.['kueue.x-k8s.io/queue-name']).toBe(queue);
    expect(built.spec!.template.metadata!.labels?.['kueue.x-k8s.io/queue-name']).toBeUndefined();
    expect(built.spec!.suspend).toBeUndefined();
  });

  it.each([
    { name: "the chart's deadline without a GPU-hour budget", deadlineSeconds: undefined, active: 86400 },
    { name: 'what the GPU-hour budget leaves, when that is sooner', deadlineSeconds: 1800, active: 1800 },
  ])('activeDeadlineSeconds: $name', ({ deadlineSeconds, active }) => {
    expect(buildJob({ owner, spec: spec(), job: job(deadlineSeconds !== undefined ? { deadlineSeconds } : {}), config }).spec!.activeDeadlineSeconds).toBe(active);
  });
});
