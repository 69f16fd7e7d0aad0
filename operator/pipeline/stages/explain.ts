import type { Estimate } from '../../../agents/server/estimate.js';
import { consultServingExplanation } from '../../../agents/server/explain.js';
import type { StageContext } from '../reconcile.js';

/** The Server agent tells the user, in the conversation, how the deployment was sized (through the brain). */
export async function explainServing(ctx: StageContext, estimate: Pick<Estimate, 'replicas' | 'perReplicaQps' | 'saturationQps' | 'targetLatencyP99Ms' | 'predictedLatencyP99Ms' | 'memoryBytes' | 'accelerator' | 'reasoning'>): Promise<void> {
  const facts = { ...estimate, reasoning: estimate.reasoning.slice(0, 20), qps: ctx.task.serving.qps };
  const out = await consultServingExplanation(ctx.brain, facts, ctx.memory(), ctx.decisions());
  if (!out.reused) ctx.decided(out.record, out.explanation);
}
