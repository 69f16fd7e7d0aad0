import type { DataProfile } from '../../../agents/jobs/data-spec.js';
import type { CatalogEntry } from '../../../agents/model/catalog.js';
import type { PlannedModel } from '../../../agents/model/hyperparameters.js';
import { SINGLE, isDistributed, sizeTraining, totalGpus, type Placement, type Sizing } from '../../../agents/model/sizing.js';
import type { TrainingRequest } from '../../api/training-request.js';
import type { StageOutcome } from '../reconcile.js';
import type { JobObservation, Observed } from '../types.js';

/** Less than a minute of the placement's GPUs left: the GPU-hour budget is spent. */
export const BUDGET_FLOOR_SECONDS = 60;
/** Characters a multi-node job's name leaves for what engines append (`-node-0-0`, `-r1`, `-<index>`). */
export const GROUP_NAME_RESERVE = 12;

/** GPU-hours one attempt's job has used so far. */
export function gpuHoursUsed(job: JobObservation | undefined, gpus: number): number {
  return gpus > 0 ? (gpus * (job?.runSeconds ?? 0)) / 3600 : 0;
}

/**
 * Seconds an attempt may take before `spec.budget.deadline`, measured from the request's creation
 * minus what the attempts before it ran: the same on every reconcile, so the plan (and the job's
 * name) does not drift while a job runs. Without a creation time (a local request file): from now.
 */
export function secondsBeforeDeadline(request: TrainingRequest, now: Date, earlierRunSeconds: number): number | undefined {
  const deadline = request.spec.budget?.deadline;
  if (!deadline) return undefined;
  const created = Date.parse(String((request.metadata as Record<string, unknown>)['creationTimestamp'] ?? ''));
  const start = Number.isFinite(created) ? created + earlierRunSeconds * 1000 : now.getTime();
  return Math.max(0, (Date.parse(deadline) - start) / 1000);
}

/** What the model stage decides about where one attempt trains and how long it may run. */
export interface AttemptResources {
  sizing: Sizing;
  placement: Placement;
  /** GPUs the attempt holds in all (0 on CPUs). */
  gpus: number;
  /** The job's deadline from the GPU-hour budget (absent: no budget, or no GPUs). */
  deadlineSeconds?: number;
  /** The GPU-hour budget cannot pay for another minute of this placement. */
  exhausted: boolean;
}

/** Where attempt `entry` trains (the Model agent's sizing, `spec.resources` winning) and its budget deadline. */
export function attemptResources(input: {
  request: TrainingRequest;
  observed: Pick<Observed, 'gpuAvailable' | 'distributed'>;
  entry: CatalogEntry;
  plan: PlannedModel;
  profile: Pick<DataProfile, 'rows' | 'evaluation'>;
  pseudoRows: number;
  spentGpuHours: number;
  secondsLeft: number | undefined;
}): AttemptResources {
  const { request, observed, entry, plan, profile } = input;
  const resources = request.spec.resources;
  const maxGpuHours = request.spec.budget?.maxGpuHours;
  const gpuHoursLeft = maxGpuHours === undefined ? undefined : Math.max(0, maxGpuHours - input.spentGpuHours);
  const limits = observed.distributed ?? { maxGpusPerNode: 1, maxNodes: 1 };
  const sizing = sizeTraining({
    entry,
    hyperparameters: plan.model.hyperparameters,
    rows: profile.rows.train + input.pseudoRows,
    fits: profile.evaluation?.method === 'cross-validation' ? (profile.evaluation.folds ?? 5) + 1 : 1,
    gpu: observed.gpuAvailable && entry.framework === 'torch',
    overrides: { gpusPerNode: resources?.gpu?.count, nodes: resources?.nodes },
    limits: { maxGpusPerNode: limits.maxGpusPerNode, maxNodes: limits.maxNodes },
    secondsLeft: input.secondsLeft,
    gpuHoursLeft,
  });
  const placement = sizing.placement;
  const gpus = totalGpus(placement);
  const secondsOfBudget = gpuHoursLeft !== undefined && gpus > 0 ? (gpuHoursLeft * 3600) / gpus : undefined;
  return {
    sizing,
    placement,
    gpus,
    ...(secondsOfBudget !== undefined ? { deadlineSeconds: Math.max(1, Math.floor(secondsOfBudget)) } : {}),
    exhausted: secondsOfBudget !== undefined && secondsOfBudget < BUDGET_FLOOR_SECONDS,
  };
}

/** The job-name inputs of a placement: a distributed one changes the name, one process leaves it as it was. */
export function placementInputs(placement: Placement): { placement?: Placement } {
  return isDistributed(placement) ? { placement } : {};
}

/** The longest name a job with this placement may have (multi-node engines append to it). */
export function nameLength(placement: Placement): number {
  return placement.nodes > 1 ? 63 - GROUP_NAME_RESERVE : 63;
}

/** Whether a failed multi-node group is started again (fresh group, newest checkpoint) rather than failing the attempt. */
export function retriesGroup(job: JobObservation, placement: Placement, observed: Pick<Observed, 'distributed'>): boolean {
  return job.state === 'Failed' && placement.nodes > 1 && job.failureReason !== 'DeadlineExceeded' && (job.retry ?? 0) < (observed.distributed?.groupRetries ?? 0);
}

/** The placement in words, for notes: "2 nodes × 1 GPU (torchrun, DistributedDataParallel)". */
export function placementWords(placement: Placement | undefined): string {
  const p = placement ?? SINGLE;
  if (!isDistributed(p)) return p.gpusPerNode > 0 ? `${p.gpusPerNode} GPU` : 'one process';
  const per = p.gpusPerNode > 0 ? `${p.gpusPerNode} GPU${p.gpusPerNode > 1 ? 's' : ''}` : 'CPU';
  return `${p.nodes} node${p.nodes > 1 ? 's' : ''} × ${per} (${p.nodes * p.processesPerNode} processes, torchrun, DistributedDataParallel)`;
}

/**
 * A Pending job that a queue holds or the scheduler cannot place: the stage stays Reconciling, with
 * phase Pending and the queue's or the scheduler's reason (never Failed: it may still run).
 */
export function waitingOutcome(job: JobObservation | undefined, what: string): Extract<StageOutcome, { next: false }> | undefined {
  if (job?.state !== 'Pending' || !job.waiting) return undefined;
  const message = `${what} is ${job.waiting.reason === 'Queued' ? 'queued' : 'waiting for nodes'}: ${job.waiting.message}`;
  return { next: false, phase: 'Pending', overall: { state: 'Reconciling', reason: job.waiting.reason, message } };
}

/** Hours in words. */
export function gpuHoursWords(h: number): string {
  return h < 0.1 ? `${(h * 60).toFixed(1)} GPU-minutes` : `${h.toFixed(2)} GPU-hours`;
}
