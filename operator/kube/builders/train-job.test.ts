import type { TrainingRequest } from '../../api/training-request.js';
import type { JobRequest } from '../../pipeline/types.js';
import { OperatorConfig } from '../config.js';
import { buildTrainJob, trainJobCondition } from './train-job.js';

const owner = { name: 'digits', namespace: 'team-a', uid: 'uid-1' };
const spec = { requirement: 'digits', approval: 'auto', resources: { gpu: {}, queueName: 'team-a' } } as TrainingRequest['spec'];
const job: JobRequest = {
  name: 'digits-train-1-0123456789', kind: 'train', outDir: '/artifacts/team-a/digits/jobs/digits-train-1-0123456789', spec: {}, attempt: 1, runtime: 'torch', gpu: true,
  placement: { nodes: 2, gpusPerNode: 8, processesPerNode: 8 },
};

describe('buildTrainJob', () => {
  it('uses only the stable fields: runtimeRef and trainer image, command, args, env, numNodes, resourcesPerNode', () => {
    const config = OperatorConfig.parse({ images: { trainer: 'trainer:1' } });
    const built = buildTrainJob({ owner, spec, job, config });
    expect(built.apiVersion).toBe('trainer.kubeflow.org/v1alpha1');
    expect(Object.keys(built.spec).sort()).toEqual(['runtimeRef', 'trainer']);
    expect(Object.keys(built.spec.trainer).sort()).toEqual(['args', 'command', 'env', 'image', 'numNodes', 'resourcesPerNode']);
    expect(built.spec.runtimeRef).toEqual({ apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime', name: 'torch-distributed' });
    expect(built.spec.trainer).toMatchObject({ image: 'trainer:1', command: ['torchrun'], numNodes: 2, resourcesPerNode: { limits: { 'nvidia.com/gpu': '8' } } });
    expect(built.spec.trainer.args.slice(0, 3)).toEqual(['--nproc_per_node=8', '-m', 'trainer_agent_jobs.train']);
    expect(built.spec.trainer.env.map((e) => e.name)).not.toContain('PET_NNODES');
    expect(built.metadata!.labels).toMatchObject({ 'kueue.x-k8s.io/queue-name': 'team-a', 'traineragent.io/group': job.name, 'traineragent.io/request': 'digits' });
    expect(built.metadata!.ownerReferences![0]).toMatchObject({ kind: 'TrainingRequest', uid: 'uid-1', controller: true });
  });

  it('refers to the runtime the chart configured, and names a retry -r<k>', () => {
    const config = OperatorConfig.parse({ jobs: { distributed: { runtimeRef: { name: 'ta-trainer-agent-torch' } } } });
    const built = buildTrainJob({ owner, spec, job: { ...job, retry: 1 }, config });
    expect(built.spec.runtimeRef.name).toBe('ta-trainer-agent-torch');
    expect(built.metadata!.name).toBe(`${job.name}-r1`);
  });

  it('reads the True condition of a type only', () => {
    const status = { conditions: [{ type: 'Complete', status: 'False', reason: 'x', message: '', lastTransitionTime: new Date() }, { type: 'Failed', status: 'True', reason: 'JobFailed', message: 'boom', lastTransitionTime: new Date() }] };
    expect(trainJobCondition({ status }, 'Complete')).toBeUndefined();
    expect(trainJobCondition({ status }, 'Failed')?.message).toBe('boom');
  });
});
