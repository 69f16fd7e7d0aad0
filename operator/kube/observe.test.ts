import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { failureText, jobState, observeJob, observeServing } from './observe.js';

const job = (conditions: { type: string; status: string; reason?: string; message?: string }[], extra: Record<string, number> = {}): V1Job => ({ metadata: { name: 'j' }, status: { conditions: conditions.map((c) => ({ lastTransitionTime: new Date(), ...c })), ...extra } }) as V1Job;
const pod = (exitCode: number, message?: string, finishedAt = '2025-01-01T00:00:00Z'): V1Pod => ({ metadata: { labels: { 'batch.kubernetes.io/job-name': 'j' } }, status: { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, ...(message ? { message } : {}), finishedAt: new Date(finishedAt) } } }] } }) as V1Pod;

describe('observeJob', () => {
  it.each([
    { name: 'no pods yet', job: job([]), state: 'Pending' },
    { name: 'a pod is active', job: job([], { active: 1 }), state: 'Running' },
    { name: 'Complete', job: job([{ type: 'Complete', status: 'True' }]), state: 'Succeeded' },
    { name: 'SuccessCriteriaMet before Complete', job: job([{ type: 'SuccessCriteriaMet', status: 'True' }]), state: 'Succeeded' },
    { name: 'Failed', job: job([{ type: 'Failed', status: 'True' }]), state: 'Failed' },
    { name: 'FailureTarget before Failed', job: job([{ type: 'FailureTarget', status: 'True' }]), state: 'Failed' },
  ])('state: $name → $state', ({ job, state }) => expect(jobState(job)).toBe(state));

  it('a succeeded Job reports result.json', () => {
    expect(observeJob(job([{ type: 'Complete', status: 'True' }]), [pod(0, '{"ok":true}')], () => ({ accuracy: 0.99 }))).toEqual({ state: 'Succeeded', result: { accuracy: 0.99 } });
  });

  it('a succeeded Job whose result the operator cannot read is a failure that says why', () => {
    const seen = observeJob(job([{ type: 'Complete', status: 'True' }]), [], () => undefined);
    expect(seen.state).toBe('Failed');
    expect(seen.message).toMatch(/result\.json is not readable/);
  });

  it("a failed Job carries the newest failed pod's termination message", () => {
    const seen = observeJob(
      job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]),
      [pod(1, '{"ok":false,"error":"old"}', '2025-01-01T00:00:00Z'), pod(1, '{"ok":false,"kind":"error","job":"data","error":"JobError: no column \'text\'"}', '2025-01-01T00:05:00Z')],
      () => undefined,
    );
    expect(seen).toEqual({ state: 'Failed', message: "JobError: no column 'text'; BackoffLimitExceeded: Job has reached the specified backoff limit" });
  });

  it('a deadline with no pod message says so', () => {
    const seen = observeJob(job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]), [], () => undefined);
    expect(seen.message).toBe('DeadlineExceeded: Job was active longer than specified deadline');
  });

  it.each([
    { message: '{"ok":false,"error":"boom"}', text: 'boom' },
    { message: 'Traceback...\nValueError: x\n', text: 'Traceback...\nValueError: x' },
    { message: '  ', text: undefined },
  ])('failureText($message)', ({ message, text }) => expect(failureText(message)).toBe(text));
});

describe('observeServing', () => {
  const deployment = (status: Record<string, unknown>, model = 'm', generation = 1): V1Deployment => ({ metadata: { name: 'm-triton', generation, annotations: { 'traineragent.io/model': model } }, spec: { replicas: 3, selector: {}, template: {} }, status }) as V1Deployment;
  it.each([
    { name: 'no Deployment yet', d: undefined, ready: undefined, message: undefined },
    { name: 'rolled out', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }), ready: true, message: undefined },
    { name: 'still rolling out', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 1, availableReplicas: 1 }), ready: false, message: undefined },
    { name: 'generation not observed yet', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }, 'm', 2), ready: false, message: undefined },
    { name: 'progress deadline exceeded', d: deployment({ observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet has timed out progressing.' }] }), ready: false, message: 'Deployment m-triton: ReplicaSet has timed out progressing.' },
  ])('$name', ({ d, ready, message }) => {
    const seen = observeServing(d, { model: 'm', replicas: 3 }, 'http://m-triton.ns.svc:8000');
    expect(seen?.ready).toBe(ready);
    expect(seen?.message).toBe(message);
  });
});
