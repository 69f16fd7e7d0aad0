import type { TrainingRequest } from '../../api/training-request.js';
import type { JobRequest } from '../../pipeline/types.js';
import { OperatorConfig } from '../config.js';
import { buildGroupJob, groupServiceName, retryName } from './group-job.js';
import { GPU_RESOURCE } from './job.js';

const owner = { name: 'digits', namespace: 'team-a', uid: 'uid-1' };
const config = OperatorConfig.parse({ images: { trainer: 'trainer:1' }, jobs: { queueName: 'gpus' } });
const spec = { requirement: 'digits', approval: 'auto', resources: { gpu: {}, nodes: 2 } } as TrainingRequest['spec'];
const job = (extra: Partial<JobRequest> = {}): JobRequest => ({
  name: 'digits-train-1-0123456789', kind: 'train', outDir: '/artifacts/team-a/digits/jobs/digits-train-1-0123456789', spec: {}, attempt: 1, runtime: 'torch', gpu: true,
  placement: { nodes: 2, gpusPerNode: 4, processesPerNode: 4 }, deadlineSeconds: 7200, ...extra,
});

describe('buildGroupJob', () => {
  it('runs one indexed pod per node, torchrun in each, the whole group failing together', () => {
    const { job: built } = buildGroupJob({ owner, spec, job: job(), config });
    expect(built.metadata!.name).toBe('digits-train-1-0123456789');
    expect(built.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimit: 0, activeDeadlineSeconds: 7200 });
    const pod = built.spec!.template.spec!;
    expect(pod.subdomain).toBe('digits-train-1-0123456789');
    const c = pod.containers[0]!;
    expect(c.command).toEqual(['torchrun']);
    expect(c.args!.slice(0, 3)).toEqual(['--nproc_per_node=4', '-m', 'trainer_agent_jobs.train']);
    expect(c.args).not.toContain('--standalone');
    expect(c.resources!.limits![GPU_RESOURCE]).toBe('4');
    expect(built.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('gpus');
    expect(built.spec!.template.metadata!.labels).toMatchObject({ 'traineragent.io/group': 'digits-train-1-0123456789', 'traineragent.io/retry': '0' });
  });

  it('sets the PET_* variables Kubeflow Trainer injects: node rank from the completion index, the first pod as master', () => {
    const env = buildGroupJob({ owner, spec, job: job(), config }).job.spec!.template.spec!.containers[0]!.env!;
    const pet = Object.fromEntries(env.filter((e) => e.name.startsWith('PET_')).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    expect(pet).toEqual({
      PET_NNODES: '2',
      PET_NPROC_PER_NODE: '4',
      PET_NODE_RANK: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      PET_MASTER_ADDR: 'digits-train-1-0123456789-0.digits-train-1-0123456789',
      PET_MASTER_PORT: '29500',
    });
  });

  it('a retry is a new Job with its own pod names, behind the same headless Service', () => {
    const { job: retried, service } = buildGroupJob({ owner, spec, job: job({ retry: 1 }), config });
    expect(retried.metadata!.name).toBe('digits-train-1-0123456789-r1');
    const env = Object.fromEntries(retried.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(env['PET_MASTER_ADDR']).toBe('digits-train-1-0123456789-r1-0.digits-train-1-0123456789');
    expect(service.metadata!.name).toBe('digits-train-1-0123456789');
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'traineragent.io/group': 'digits-train-1-0123456789' } });
    expect(service.metadata!.ownerReferences![0]!.uid).toBe('uid-1');
  });

  it.each([
    { name: 'a name starting with a letter is the Service name', job: 'digits-train-1-abc', service: 'digits-train-1-abc' },
    { name: 'a name starting with a digit gets a DNS-1035 Service name', job: '7up-train-1-abc', service: 'r-7up-train-1-abc-ddp' },
  ])('$name', ({ job: name, service }) => {
    expect(groupServiceName(name)).toBe(service);
  });

  it('names retries', () => {
    expect(retryName({ name: 'x', retry: 0 })).toBe('x');
    expect(retryName({ name: 'x', retry: 2 })).toBe('x-r2');
  });
});
