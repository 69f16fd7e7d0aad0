import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobObservation, ObservedServing } from '../pipeline/types.js';
import { MODEL_ANNOTATION } from './builders/meta.js';
import { JOB_CONTAINER } from './builders/job.js';

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

/**
 * What the pipeline sees of one Job. `readResult` reads result.json from the artifacts volume
 * (undefined when it cannot); a succeeded Job without a readable result is reported as Failed with
 * a message saying why, rather than handing the pipeline something it cannot parse.
 */
export function observeJob(job: V1Job, pods: readonly V1Pod[], readResult: () => unknown): JobObservation {
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
