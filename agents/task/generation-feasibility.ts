import type { TaskSpec } from './task-spec.js';

/** One feasibility rule: when it matches, no training could meet the request honestly. */
export interface FeasibilityRule {
  id: string;
  matches: (text: string, spec: Pick<TaskSpec, 'objectives' | 'constraints' | 'serving' | 'task'>) => boolean;
  reason: string;
}

/** Real captioned photographs score about 30 (CLIP ViT-L/14, 100 × cosine); no generator is above 40. */
export const CLIP_SCORE_CEILING = 40;
/** FID between two samples of the same real images is above this; a lower target cannot be shown. */
export const FID_FLOOR = 1;
/** The fastest one-step diffusion models take tens of milliseconds per image on a datacenter GPU. */
export const FASTEST_IMAGE_MS = 10;

const generating = (spec: Pick<TaskSpec, 'task'>) => spec.task === 'image-generation';
const target = (spec: Pick<TaskSpec, 'objectives'>, metric: string, op: '>=' | '<=') => spec.objectives.find((o) => o.metric === metric && o.op === op);

/**
 * Image generation targets no model reaches or no evaluation could show: a CLIP score above what real
 * photographs of the prompt get, an FID below the sampling noise of FID itself, an image faster than
 * the fastest diffusion models make one.
 */
export const GENERATION_FEASIBILITY_RULES: FeasibilityRule[] = [
  {
    id: 'clip-score-above-real-images',
    matches: (_t, spec) => generating(spec) && (target(spec, 'clip-score', '>=')?.value ?? 0) >= CLIP_SCORE_CEILING,
    reason: `A CLIP score of ${CLIP_SCORE_CEILING} or more is above what real photographs of their own captions get (about 30 on the 0–100 scale), so no generator can be held to it.`,
  },
  {
    id: 'fid-below-sampling-noise',
    matches: (_t, spec) => generating(spec) && (target(spec, 'fid', '<=')?.value ?? Infinity) < FID_FLOOR,
    reason: `An FID below ${FID_FLOOR} is below the distance between two samples of the same real images; no evaluation on a held-out style set could show it.`,
  },
  {
    id: 'image-faster-than-any-diffusion-model',
    matches: (_t, spec) => generating(spec) && Math.min(spec.serving.latencyP99Ms ?? Infinity, spec.constraints.maxLatencyMs ?? Infinity) < FASTEST_IMAGE_MS,
    reason: `An image in under ${FASTEST_IMAGE_MS} ms is faster than the fastest diffusion models make one, even on a datacenter GPU.`,
  },
];
