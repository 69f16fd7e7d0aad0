import type { PlanContext, PlanStep } from './plan.js';
import type { TaskSpec } from './task-spec.js';

const targets = (spec: TaskSpec) =>
  spec.objectives.length ? spec.objectives.map((o) => `${o.metric} ${o.op} ${o.value}`).join(' and ') : 'no stated quality target';

function servingWords(spec: TaskSpec): string {
  const s = spec.serving;
  const words = [s.qps && `${s.qps} images per second`, s.latencyP99Ms && `p99 ≤ ${s.latencyP99Ms / 1000} s per image`,
    s.memoryBytes && `${(s.memoryBytes / 1e9).toFixed(2)} GB per replica`].filter(Boolean);
  return words.length ? words.join(', ') : 'the default targets (one replica, 60 s per image at most)';
}

/**
 * The plan of an image generation request (a brand's style): learn the style from the image folder with
 * a LoRA on a diffusion model, judge it on held-out style images, serve it as a Triton Python model.
 */
export function generationSteps(spec: TaskSpec, context: PlanContext): PlanStep[] {
  const steps: PlanStep[] = [
    { id: 'profile-style-set', agent: 'data', description: 'Profile the style images: how many decode, resolutions against the training resolution, odd aspect ratios, exact and near duplicates, caption coverage.' },
    { id: 'caption-hold-out', agent: 'data', description: 'Keep the given captions (metadata.jsonl or a .txt per image), write the missing ones from file and folder names, and hold out style images to judge the results against.' },
    { id: 'select-base', agent: 'model', description: 'Pick the diffusion model to fine-tune (the base the request names, or the catalog\'s Stable Diffusion model) if it can train here in time; the base is referenced, never copied.' },
    { id: 'fine-tune-lora', agent: 'model', description: `Fine-tune a LoRA on the style images (mixed precision and gradient checkpointing on a GPU, checkpoints to resume from), up to ${context.maxAttempts} attempt(s), training longer when a measured target is missed.` },
    { id: 'evaluate', agent: 'model', description: `Generate images for the held-out captions and measure ${targets(spec)}: FID and CLIP score only with the feature-extractor weights given; otherwise say so and report a labelled proxy.` },
  ];
  if (context.serving) {
    steps.push(
      { id: 'package', agent: 'server', description: 'Write a Triton Python-backend model (prompt, optional seed and steps in; base64 PNG out) holding the LoRA, and check that the reloaded LoRA reproduces the reference image for its fixed seed.' },
      { id: 'benchmark-estimate', agent: 'server', description: `Measure seconds per image at the served steps and resolution and the peak memory, and size replicas for ${servingWords(spec)}.` },
      { id: 'deploy', agent: 'server', description: 'Deploy it (or serve it locally) and write the API document with a real example image.' },
    );
  }
  steps.push({ id: 'report', agent: 'task', description: 'Report the metrics (and what could not be measured), the estimate and the endpoint to the user.' });
  return steps;
}
