import type { Brain } from '../../agents/brain/brain.js';
import type { ConsultRecord } from '../../agents/brain/consult.js';
import { memoryFrom, remember, type Memory } from '../../agents/brain/memory.js';
import { understandRequest } from '../../agents/task/agent.js';
import { buildPlan } from '../../agents/task/plan.js';
import { brainStatus } from './brain-status.js';
import { explainServing } from './stages/explain.js';
import type { TaskSpec } from '../../agents/task/task-spec.js';
import type { DataJobResult } from '../../agents/jobs/data-spec.js';
import type { TrainJobResult } from '../../agents/jobs/train-spec.js';
import type { Framework } from '../../agents/model/catalog.js';
import type { TrainingRequest, TrainingRequestStatus } from '../api/training-request.js';
import { setCondition, setOverall, type ConditionUpdate, type Overall } from './conditions.js';
import { dataStage } from './stages/data.js';
import { modelStage } from './stages/model.js';
import { servingStage } from './stages/serving.js';
import { GENERATION_STAGES, type GenerationContext } from './stages/generation.js';
import type { Action, Observed } from './types.js';

/** What the pipeline needs besides the request and the observations. */
export interface ReconcileDeps {
  brain: Brain;
  now: Date;
}

/** The pipeline's answer: actions for the backend and the next status. */
export interface ReconcileResult {
  actions: Action[];
  status: TrainingRequestStatus;
  /** Whether the backend should come back soon (jobs running). */
  requeue: boolean;
}

/** A stage's verdict: go on to the next stage, or stop here with an overall state. */
export type StageOutcome =
  | { next: true }
  | { next: false; overall: Overall; phase: NonNullable<TrainingRequestStatus['phase']>; question?: string };

/** Mutable working set the stages share within one reconcile (never escapes it). */
export interface StageContext {
  request: TrainingRequest;
  observed: Observed;
  task: TaskSpec;
  status: TrainingRequestStatus;
  actions: Action[];
  now: Date;
  condition(update: ConditionUpdate): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Set by the data stage for the stages after it. */
  data?: { dir: string; result: DataJobResult };
  /** Set by the model stage: the attempt to convert and serve, and the framework it was trained with. */
  trained?: { attempt: number; modelDir: string; result: TrainJobResult; framework: Framework };
  /** Image generation requests: the style set and the fine-tuned generator, for the stages after them. */
  generation?: GenerationContext;
  /** The brain the agents consult (within bounds) for their decisions. */
  brain: Brain;
  /** The conversation so far, as the agents' memory. */
  memory(): Memory;
  /** Decisions the brain already made for this generation (reused for the same input). */
  decisions(): ConsultRecord[];
  /** Record an agent's decision in status.brain and what it told the Task agent in the conversation. */
  decided(record: ConsultRecord, said: string): void;
}

/**
 * Level-triggered reconcile of one TrainingRequest. Reads the request and what the backend
 * observed, returns what should happen next and the status to write. The only side effect is the
 * brain's thinking, whose results are cached in status and redone only when the spec changes.
 */
export async function reconcile(request: TrainingRequest, observed: Observed, deps: ReconcileDeps): Promise<ReconcileResult> {
  const generation = request.metadata.generation ?? 1;
  const previous = request.status ?? {};
  const status: TrainingRequestStatus = { ...previous, conditions: [...(previous.conditions ?? [])] };
  const actions: Action[] = [];
  const condition = (update: ConditionUpdate) => {
    const before = status.conditions?.find((c) => c.type === update.type);
    status.conditions = setCondition(status.conditions ?? [], update, deps.now, generation);
    if (before?.status !== update.status && update.status === 'True') actions.push({ kind: 'event', type: 'Normal', reason: update.reason, message: update.message ?? update.type });
  };
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => actions.push({ kind: 'event', type, reason, message });

  // 1. Understand (Task agent), cached per generation.
  if (!previous.task || previous.observedGeneration !== generation) {
    const understood = await understandRequest(
      deps.brain,
      { requirement: request.spec.requirement, messages: request.spec.messages, overrides: request.spec.overrides },
      memoryFrom(),
    );
    status.task = understood.spec;
    status.conversation = [...understood.memory.turns];
    status.brain = brainStatus(understood.record, deps.brain.usage());
  }
  status.observedGeneration = generation;
  const task = status.task!;
  const finish = (outcome: Extract<StageOutcome, { next: false }>): ReconcileResult => {
    status.phase = outcome.phase;
    if (outcome.question) status.question = outcome.question;
    else delete status.question;
    status.conditions = setOverall(status.conditions ?? [], outcome.overall, deps.now, generation);
    return { actions, status, requeue: outcome.overall.state === 'Reconciling' };
  };

  if (task.decision === 'reject-unethical' || task.decision === 'reject-infeasible') {
    const reason = task.decision === 'reject-unethical' ? 'RejectedUnethical' : 'RejectedInfeasible';
    condition({ type: 'RequirementParsed', status: 'True', reason, message: task.reasons.join(' ') });
    const before = previous.phase;
    if (before !== 'Rejected') event('Warning', 'Rejected', task.reasons.join(' '));
    return finish({ next: false, phase: 'Rejected', overall: { state: 'Stalled', reason: 'Rejected', message: task.reasons.join(' ') } });
  }
  if (task.decision === 'needs-input') {
    condition({ type: 'RequirementParsed', status: 'False', reason: 'NeedsInput', message: task.reasons.join(' ') });
    return finish({ next: false, phase: 'AwaitingInput', question: task.reasons.join(' '), overall: { state: 'AwaitingInput', reason: 'NeedsInput', message: task.reasons.join(' ') } });
  }
  condition({ type: 'RequirementParsed', status: 'True', reason: 'Parsed', message: task.reasons[0] ?? '' });

  // 2. Plan, and wait for approval when asked to.
  const sources = request.spec.data ?? [];
  const plan = buildPlan(task, {
    labelledSources: sources.filter((s) => s.role !== 'unlabelled').length,
    unlabelledSources: sources.filter((s) => s.role === 'unlabelled').length,
    serving: request.spec.serving?.enabled ?? true,
    maxAttempts: request.spec.budget?.maxAttempts ?? 4,
    ...(request.spec.resources?.gpu && request.spec.resources.gpu.count !== 0
      ? { gpus: { gpusPerNode: request.spec.resources.gpu.count, nodes: request.spec.resources.nodes, maxGpuHours: request.spec.budget?.maxGpuHours } }
      : {}),
  });
  status.plan = plan;
  condition({ type: 'Planned', status: 'True', reason: 'Planned', message: `${plan.steps.length} steps, plan ${plan.hash}` });
  if (request.spec.approval === 'plan' && request.spec.approvedPlan !== plan.hash) {
    const question = `Please review the plan and approve it by setting spec.approvedPlan: "${plan.hash}".`;
    return finish({ next: false, phase: 'AwaitingInput', question, overall: { state: 'AwaitingInput', reason: 'AwaitingApproval', message: question } });
  }
  if (request.spec.suspend) {
    return finish({ next: false, phase: status.phase ?? 'Pending', overall: { state: 'AwaitingInput', reason: 'Suspended', message: 'spec.suspend is true' } });
  }

  // 3-5. Data, model, serving: each stage either hands over or stops with a state.
  const context: StageContext = { request, observed, task, status, actions, now: deps.now, condition, event, ...agentMemory(status, deps.brain) };
  // Image generation (a brand's style) has its own data, model and serving stages.
  const stages = task.task === 'image-generation' ? GENERATION_STAGES : [dataStage, modelStage, servingStage];
  for (const stage of stages) {
    const outcome = await stage(context);
    if (!outcome.next) return finish(outcome);
  }
  if (status.estimate) await explainServing(context, status.estimate);
  delete status.question;
  return finish({ next: false, phase: 'Ready', overall: { state: 'Ready', reason: 'Ready', message: readyMessage(status) } });
}

/** The agents' shared memory and decision record, kept in status so restarts and repeats reuse them. */
function agentMemory(status: TrainingRequestStatus, brain: Brain): Pick<StageContext, 'brain' | 'memory' | 'decisions' | 'decided'> {
  return {
    brain,
    memory: () => memoryFrom(status.conversation ?? []),
    decisions: () => (status.brain?.decisions ?? []).filter((d): d is ConsultRecord => d.key !== undefined && d.value !== undefined),
    decided: (record, said) => {
      const kept = (status.brain?.decisions ?? []).filter((d) => !(d.agent === record.agent && d.decision === record.decision));
      status.brain = { ...(status.brain ?? { kind: brain.kind }), decisions: [...kept, record].slice(-20), tokens: brain.usage() };
      status.conversation = [...remember(memoryFrom(status.conversation ?? []), { from: record.agent, to: 'task', text: `${said}${record.fallbackReason ? ` (offline brain: ${record.fallbackReason})` : ''}` }).turns];
    },
  };
}

function readyMessage(status: TrainingRequestStatus): string {
  const where = status.endpoint ? ` at ${status.endpoint.url}` : '';
  return `Model ${status.model?.name ?? ''} is ready${where}. ${status.metric ?? ''}`.trim();
}
