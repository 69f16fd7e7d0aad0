import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobObservation, ObservedServing } from '../pipeline/types.js';
import { MODEL_ANNOTATION } from './builders/meta.js';
import { JOB_CONTAINER, QUEUE_LABEL } from './builders/job.js';
import { trainJobCondition, type TrainJob } from './builders/train-job.js';

/** What a finished job container said: exit code and termination message. */
export interface Termination {
  exitCode: number;
  message?: string;
  reason?: string;
}

/** The job container's terminated state in the newest finished pod of a Job, if any. */
export function lastTermination(pods: readonly V1Pod[], succeeded: boolean): Termination | undefined {
  const finished = pods
    .map((pod) => ({ pod, state: (pod.status?.containerStatuses ?? []).find((c) => c.name === JOB_CONTAINER)?.state?.terminated }))
    .filter((p) => p.state && (succeeded ? p.state.exitCode === 0 : p.state.exitCode !== 0))
    .sort((a, b) => time(b.state!.finishedAt) - time(a.state!.finishedAt));
  const t = finished[0]?.state;
  return t ? { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}), ...(t.reason ? { reason: t.reason } : {}) } : undefined;
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}

/** The failure text of a termination message: the job's `{"ok":false,"error":...}` or the raw text. */
export function failureText(message: string | undefined): string | undefined {
  if (!message?.trim()) return undefined;
  try {
    const parsed = JSON.parse(message) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // FallbackToLogsOnError: the log tail, not JSON.
  }
  return message.trim().slice(-2000);
}

/** The Job's state from its conditions (Complete/SuccessCriteriaMet, Failed/FailureTarget) and counts. */
export function jobState(job: V1Job): JobObservation['state'] {
  const conditions = job.status?.conditions ?? [];
  const on = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (on('Complete') || on('SuccessCriteriaMet')) return 'Succeeded';
  if (on('Failed') || on('FailureTarget')) return 'Failed';
  if ((job.status?.active ?? 0) > 0 || (job.status?.ready ?? 0) > 0) return 'Running';
  return 'Pending';
}

/** What else observing a Job needs: the time, and what Kueue says about a Job it holds. */
export interface ObserveContext {
  now: Date;
  /** The reason Kueue's Workload gives for not admitting the Job yet (its QuotaReserved/Admitted message). */
  queueMessage?: string;
}

/** Seconds from `start` to `end` (or now), 0 without a start. */
function seconds(start: Date | string | undefined, end: Date | string | undefined, now: Date): number {
  if (!start) return 0;
  return Math.max(0, ((end ? new Date(end) : now).getTime() - new Date(start).getTime()) / 1000);
}

/**
 * Why a Pending Job does not run: Kueue holds it suspended (its queue label, and the Workload's
 * reason when Kueue gave one), or the scheduler cannot place a pod (its Unschedulable message).
 */
export function jobWaiting(job: V1Job, pods: readonly V1Pod[], queueMessage?: string): JobObservation['waiting'] {
  const suspended = job.spec?.suspend === true || (job.status?.conditions ?? []).some((c) => c.type === 'Suspended' && c.status === 'True');
  if (suspended) {
    const queue = job.metadata?.labels?.[QUEUE_LABEL];
    const why = queueMessage ?? (queue ? 'waiting for Kueue to admit it' : 'the Job is suspended');
    return { reason: 'Queued', message: queue ? `queue ${queue}: ${why}` : why };
  }
  for (const pod of pods) {
    const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return { reason: 'Unschedulable', message: `pod ${pod.metadata?.name}: ${scheduled.message ?? 'no node fits it'}` };
    }
  }
  return undefined;
}

/**
 * What the pipeline sees of one Job. `readResult` reads result.json from the artifacts volume
 * (undefined when it cannot); a succeeded Job without a readable result is reported as Failed with
 * a message saying why, rather than handing the pipeline something it cannot parse. With a context,
 * also how long it ran, why it failed, and why a Pending one waits.
 */
export function observeJob(job: V1Job, pods: readonly V1Pod[], readResult: () => unknown, context?: ObserveContext): JobObservation {
  const observed = observeJobState(job, pods, readResult);
  if (!context) return observed;
  const failed = (job.status?.conditions ?? []).find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
  const end = job.status?.completionTime ?? failed?.lastTransitionTime;
  // The Job controller counts a pod the scheduler cannot place as active, so a "Running" Job may still
  // wait: one unplaced pod holds the whole group (torchrun's rendezvous needs every node).
  const unfinished = observed.state === 'Pending' || observed.state === 'Running';
  const waiting = unfinished ? jobWaiting(job, pods, context.queueMessage) : undefined;
  return {
    ...observed,
    ...(waiting ? { state: 'Pending' as const } : {}),
    runSeconds: seconds(job.status?.startTime, end, context.now),
    ...(observed.state === 'Failed' && failed?.reason ? { failureReason: failed.reason } : {}),
    ...(waiting ? { waiting } : {}),
  };
}

/** A TrainJob as the pipeline reads jobs: Complete, Failed (with its message), Suspended (queued), else Running. */
export function observeTrainJob(trainJob: TrainJob, readResult: () => unknown, now: Date): JobObservation {
  const complete = trainJobCondition(trainJob, 'Complete');
  const failed = trainJobCondition(trainJob, 'Failed');
  const runSeconds = seconds(trainJob.metadata?.creationTimestamp, complete?.lastTransitionTime ?? failed?.lastTransitionTime, now);
  if (complete) {
    const result = readResult();
    if (result === undefined) return { state: 'Failed', runSeconds, message: `TrainJob ${trainJob.metadata?.name} is Complete but its result.json is not readable by the operator; mount the artifacts volume into the operator (chart value artifacts.mountInOperator) and into the training runtime.` };
    return { state: 'Succeeded', result, runSeconds };
  }
  if (failed) return { state: 'Failed', runSeconds, failureReason: failed.reason, message: `TrainJob ${trainJob.metadata?.name} failed: ${failed.reason}${failed.message ? `: ${failed.message}` : ''}` };
  const suspended = trainJobCondition(trainJob, 'Suspended');
  if (suspended || trainJob.spec?.suspend === true) {
    const queue = trainJob.metadata?.labels?.[QUEUE_LABEL];
    return { state: 'Pending', runSeconds: 0, waiting: { reason: 'Queued', message: `${queue ? `queue ${queue}: ` : ''}${suspended?.message || 'the TrainJob is suspended'}` } };
  }
  return { state: 'Running', runSeconds };
}

function observeJobState(job: V1Job, pods: readonly V1Pod[], readResult: () => unknown): JobObservation {
  const state = jobState(job);
  if (state === 'Succeeded') {
    const result = readResult();
    if (result === undefined) return { state: 'Failed', message: `Job ${job.metadata?.name} succeeded but its result.json is not readable by the operator; mount the artifacts volume into the operator (chart value artifacts.mountInOperator).` };
    return { state, result };
  }
  if (state === 'Failed') {
    const termination = lastTermination(pods, false);
    const condition = (job.status?.conditions ?? []).find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
    const text = failureText(termination?.message);
    const parts = [
      text ?? (termination ? `exit code ${termination.exitCode}${termination.reason ? ` (${termination.reason})` : ''}` : undefined),
      condition?.reason && condition.reason !== 'PodFailurePolicy' ? `${condition.reason}${condition.message ? `: ${condition.message}` : ''}` : undefined,
    ].filter(Boolean);
    return { state, message: parts.join('; ') || 'the Job failed without a message' };
  }
  return { state };
}

/** Whether the serving Deployment is rolled out and ready for the model the pipeline wants. */
export function observeServing(deployment: V1Deployment | undefined, want: { model: string; replicas: number }, url: string): ObservedServing | undefined {
  if (!deployment) return undefined;
  const model = deployment.metadata?.annotations?.[MODEL_ANNOTATION];
  const status = deployment.status ?? {};
  const desired = deployment.spec?.replicas ?? 1;
  const generationSeen = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const ready = generationSeen && model === want.model && (status.updatedReplicas ?? 0) >= desired && (status.readyReplicas ?? 0) >= Math.min(desired, Math.max(1, want.replicas)) && (status.availableReplicas ?? 0) >= 1;
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  const failed = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  return {
    ready,
    url,
    ...(model ? { model } : {}),
    replicas: status.readyReplicas ?? 0,
    // Only a real failure carries a message: the pipeline reads "not ready + message" as failed.
    ...(failed ? { message: `Deployment ${deployment.metadata?.name}: ${progressing.message ?? 'progress deadline exceeded'}` } : {}),
  };
}
