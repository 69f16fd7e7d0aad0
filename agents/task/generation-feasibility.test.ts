import { parseRequirement } from './parse/parse-requirement.js';

describe('image generation requests: targets parsed, unattainable ones refused with reasons', () => {
  it.each([
    {
      name: 'FID, a CLIP score written as a cosine, seconds per image and images per second',
      text: 'Fine-tune an image generator to make product posters in the style of our spring campaign, FID below 40, CLIP score at least 0.28, at most 5 seconds per image, 2 images per second.',
      decision: 'accept', objectives: [['fid', '<=', 40], ['clip-score', '>=', 28]], serving: { qps: 2, latencyP99Ms: 5000 },
    },
    {
      name: 'a CLIP score on the 0-100 scale is kept as written',
      text: 'Generate product photos in our brand style with a CLIP score of 31 or more.',
      decision: 'accept', objectives: [['clip-score', '>=', 31]], serving: {},
    },
    {
      name: 'a CLIP score above what real photographs get is refused',
      text: 'Generate product photos in our brand style with a CLIP score of at least 45.',
      decision: 'reject-infeasible', reason: /above what real photographs/,
    },
    {
      name: 'an FID below the sampling noise of FID is refused',
      text: 'Train a text-to-image diffusion model on our brand images with FID under 0.5.',
      decision: 'reject-infeasible', reason: /below the distance between two samples/,
    },
    {
      name: 'an image faster than any diffusion model is refused',
      text: 'Generate product posters in our spring campaign style, one image in 2 ms.',
      decision: 'reject-infeasible', reason: /faster than the fastest diffusion models/,
    },
  ])('$name', ({ text, decision, objectives, serving, reason }) => {
    const spec = parseRequirement(text);
    expect(spec.decision).toBe(decision);
    expect(spec.task).toBe('image-generation');
    if (objectives) expect(spec.objectives.map((o) => [o.metric, o.op, o.value])).toEqual(objectives);
    if (serving) expect(spec.serving).toEqual(serving);
    if (reason) expect(spec.reasons.join(' ')).toMatch(reason);
  });

  it('a classifier with a latency of 2 ms is not held to the image generation rule', () => {
    expect(parseRequirement('Classify product photos as damaged or intact, 2 ms latency.').decision).toBe('accept');
  });
});
