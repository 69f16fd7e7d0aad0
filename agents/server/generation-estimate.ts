import { estimateReplicas, type Estimate, type EstimateLimits, type EstimateTargets, type ServingProfile } from './estimate.js';

/**
 * Seconds-per-image target used when the request states none (said so in the reasoning): a person
 * waiting for a picture, not a classifier's 100 ms.
 */
export const DEFAULT_SECONDS_PER_IMAGE = 60;

/** What the generator's benchmark measured, besides the serving profile. */
export interface GenerationMeasurement {
  steps: number;
  resolution: number;
  secondsPerImage: number;
  peakGpuBytes?: number | undefined;
}

const fmt = (x: number, digits = 2) => x.toLocaleString('en-US', { maximumFractionDigits: digits });

/**
 * Size an image generator's deployment from its measured seconds per image at the served steps and
 * resolution: a request is one image, so the QPS target is images per second and the latency target
 * is seconds per image (p99). The queueing model, utilisation cap, memory headroom and replica cap are
 * the classifier's (estimateReplicas); only the default latency target differs.
 */
export function estimateGenerationReplicas(profile: ServingProfile, measured: GenerationMeasurement, targets: EstimateTargets = {}, limits: EstimateLimits = {}): Estimate {
  const latency = targets.latencyP99Ms ?? DEFAULT_SECONDS_PER_IMAGE * 1000;
  const estimate = estimateReplicas(profile, { ...targets, latencyP99Ms: latency }, limits);
  const lines = [
    `Image generation: one request is one image at ${measured.steps} denoising steps and ${measured.resolution}×${measured.resolution} px; ` +
    `measured ${fmt(measured.secondsPerImage)} s per image${measured.peakGpuBytes ? ` and ${fmt(measured.peakGpuBytes / 2 ** 30)} GiB peak GPU memory` : ''}. ` +
    `More steps cost proportionally more time per image.`,
    targets.latencyP99Ms !== undefined
      ? `Seconds per image: p99 ≤ ${fmt(latency / 1000)} s (from the request).`
      : `Seconds per image: p99 ≤ ${DEFAULT_SECONDS_PER_IMAGE} s (the request states none; ${DEFAULT_SECONDS_PER_IMAGE} s is the default for image generation, not the classifiers' ${100} ms).`,
  ];
  // The generic line about the latency target is replaced by the one above.
  const reasoning = estimate.reasoning.filter((l) => !l.startsWith('Latency target:'));
  return { ...estimate, reasoning: estimate.replicas === 0 ? [reasoning[0]!, ...lines, ...reasoning.slice(1)] : [...lines, ...reasoning] };
}
