import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { podChanged, slimDeployment, slimJob, slimPod } from './slim.js';

const managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:status': {} } }];

describe('cache transforms', () => {
  it('keep what the controller reads of a Job and drop the pod template and managedFields', () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'a', uid: 'u', resourceVersion: '3', labels: { l: 'v' }, ownerReferences: [{ uid: 'o' }], managedFields }, spec: { template: { spec: { containers: [{ name: 'job', image: 'big' }] } } }, status: { active: 1 } } as unknown as V1Job;
    expect(slimJob(job)).toEqual({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'a', uid: 'u', resourceVersion: '3', labels: { l: 'v' }, ownerReferences: [{ uid: 'o' }] }, status: { active: 1 } });
  });

  it('keep replicas, annotations and status of a Deployment', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 2, annotations: { m: '1' }, managedFields }, spec: { replicas: 3, selector: {}, template: {} }, status: { readyReplicas: 1 } } as unknown as V1Deployment;
    expect(slimDeployment(d)).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 2, annotations: { m: '1' } }, spec: { replicas: 3 }, status: { readyReplicas: 1 } });
  });

  it('keep a job Pod to its Job, phase, terminated states and the scheduler\'s verdict', () => {
    const scheduled = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes have 16 GPUs', lastTransitionTime: new Date(0) };
    const pod = { metadata: { name: 'p', namespace: 'a', resourceVersion: '9', labels: { 'batch.kubernetes.io/job-name': 'j' }, annotations: { big: 'x'.repeat(1000) }, managedFields }, spec: { containers: [] }, status: { phase: 'Failed', conditions: [{ type: 'Ready' }, scheduled], containerStatuses: [{ name: 'job', image: 'i', state: { terminated: { exitCode: 1, message: 'boom' } } }] } } as unknown as V1Pod;
    expect(slimPod(pod)).toEqual({ metadata: { name: 'p', namespace: 'a', uid: undefined, resourceVersion: '9', labels: { 'batch.kubernetes.io/job-name': 'j' } }, status: { phase: 'Failed', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes have 16 GPUs' }], containerStatuses: [{ name: 'job', state: { terminated: { exitCode: 1, message: 'boom' } } }] } });
  });

  it.each([
    { name: 'phase changed', before: { phase: 'Running' }, after: { phase: 'Succeeded' }, changed: true },
    { name: 'only a condition other than PodScheduled changed (dropped by the transform)', before: { phase: 'Running' }, after: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, changed: false },
    { name: 'the scheduler gave up placing the pod', before: { phase: 'Pending' }, after: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }, changed: true },
  ])('podChanged: $name', ({ before, after, changed }) => {
    const mk = (status: object) => slimPod({ metadata: { name: 'p' }, status } as V1Pod);
    expect(podChanged(mk(after), mk(before))).toBe(changed);
  });
});
