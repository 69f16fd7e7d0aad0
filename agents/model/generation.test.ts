import type { GenerationTrainJobResult } from '../jobs/generation-spec.js';
import type { Objective } from '../task/task-spec.js';
import { loadCatalog } from './catalog.js';
import { CPU_TRAINING_BUDGET_SECONDS, nextGenerationAttempt, plannedResolution, selectGenerationModel, type GenerationAttempt } from './generation.js';

const base = { trainImages: 20, frameworks: ['sklearn', 'torch'] as ('sklearn' | 'torch')[] };

describe('selectGenerationModel', () => {
  it.each([
    { name: 'tiny only when the request names it, on a CPU', input: { ...base, gpu: false, settings: { baseModel: 'tiny' } }, chosen: 'diffusion-tiny-lora', base: 'tiny' },
    { name: 'Stable Diffusion on a GPU, on the catalog\'s base', input: { ...base, gpu: true }, chosen: 'sd15-style-lora', base: 'hub:stable-diffusion-v1-5/stable-diffusion-v1-5' },
    { name: 'the base the request names', input: { ...base, gpu: true, settings: { baseModel: 'models/my-sd15' } }, chosen: 'sd15-style-lora', base: 'models/my-sd15' },
    { name: 'Stable Diffusion on a CPU takes hours: refused with the arithmetic', input: { ...base, gpu: false }, rejected: /about 50\.6 h \(2,000 images × 91\.00 s measured per image at 512 px\); it needs a GPU/ },
    { name: 'a smaller resolution is cheaper but still too slow on a CPU', input: { ...base, gpu: false, settings: { resolution: 256 } }, rejected: /22\.75 s measured per image at 256 px/ },
    { name: 'too few style images', input: { ...base, trainImages: 3, gpu: true }, rejected: /needs at least 8 style images to learn from; the set has 3/ },
    { name: 'no PyTorch for training jobs', input: { ...base, frameworks: ['sklearn'] as ('sklearn' | 'torch')[], gpu: true }, rejected: /needs torch/ },
    { name: 'a parameter limit the generator breaks', input: { ...base, gpu: true, constraints: { maxParameters: 100_000_000 } }, rejected: /~1,067,829,675 parameters, over the limit of 100,000,000/ },
    { name: 'a deadline the training cannot fit', input: { ...base, gpu: true, secondsLeft: 600 }, rejected: /does not fit the 10 min left before the deadline/ },
  ])('$name', ({ input, chosen, base: chosenBase, rejected }) => {
    const selection = selectGenerationModel(input);
    if (chosen) {
      expect(selection.candidates[0]?.entry.id).toBe(chosen);
      expect(selection.candidates[0]?.base).toBe(chosenBase);
      expect(selection.candidates[0]?.hyperparameters.pretrained).toBe(chosenBase);
    } else {
      expect(selection.candidates).toEqual([]);
      expect(selection.reasons.join(' ')).toMatch(rejected!);
    }
  });

  it('the request\'s steps and resolution reach the plan; tiny keeps its own resolution', () => {
    const sd = selectGenerationModel({ ...base, gpu: true, settings: { resolution: 768, trainingSteps: 1000, steps: 30 } }).candidates[0]!;
    expect(sd.hyperparameters).toMatchObject({ resolution: 768, steps: 1000, inferenceSteps: 30 });
    expect(sd.samples).toBe(4000);
    expect(sd.notes.join(' ')).toMatch(/mixed precision and gradient checkpointing on the GPU/);
    const tiny = selectGenerationModel({ ...base, gpu: false, settings: { baseModel: 'tiny', resolution: 768 } }).candidates[0]!;
    expect(tiny.hyperparameters.resolution).toBe(32);
    expect(tiny.estimatedSeconds).toBeLessThan(CPU_TRAINING_BUDGET_SECONDS);
    expect(plannedResolution({ baseModel: 'tiny' })).toBe(32);
    expect(plannedResolution({ resolution: 640 })).toBe(640);
    expect(plannedResolution(undefined)).toBe(512);
  });

  it('the shipped catalog lists SD 1.5 with the parameters of its three parts and the LoRA', () => {
    const entry = loadCatalog().entries.find((e) => e.id === 'sd15-style-lora')!;
    expect(entry.approxParameters).toBe(859_520_964 + 83_653_863 + 123_060_480 + 1_594_368);
  });
});

function result(metrics: Record<string, number>, objectives: Objective[]): GenerationTrainJobResult {
  const outcomes = objectives.map((o) => {
    const measured = metrics[o.metric] ?? null;
    return { ...o, measured, met: measured !== null && (o.op === '>=' ? measured >= o.value : measured <= o.value) };
  });
  return { metrics, objectives: outcomes, objectivesMet: outcomes.every((o) => o.met) } as unknown as GenerationTrainJobResult;
}

describe('nextGenerationAttempt', () => {
  const candidates = selectGenerationModel({ ...base, gpu: false, settings: { baseModel: 'tiny' } }).candidates;
  const fid: Objective[] = [{ metric: 'fid', op: '<=', value: 50 }];
  const attempt = (n: number, steps: number, r?: GenerationTrainJobResult, error?: string): GenerationAttempt =>
    ({ n, model: { id: 'diffusion-tiny-lora', family: 'diffusers-sd-lora', hyperparameters: { steps } }, reason: '', ...(r ? { result: r } : {}), ...(error ? { error } : {}) });

  it.each([
    { name: 'first: the planned candidate', attempts: [], objectives: fid, decision: { kind: 'train' } },
    { name: 'no target: one attempt', attempts: [attempt(1, 40, result({}, []))], objectives: [], decision: { kind: 'stop', bestAttempt: 1, reason: expect.stringMatching(/No quality target/) } },
    { name: 'a measured FID misses: twice as long', attempts: [attempt(1, 40, result({ fid: 80 }, fid))], objectives: fid, decision: { kind: 'train', model: expect.objectContaining({ hyperparameters: { steps: 80 } }) } },
    { name: 'met: stop', attempts: [attempt(1, 40, result({ fid: 30 }, fid))], objectives: fid, decision: { kind: 'stop', bestAttempt: 1 } },
    { name: 'FID not measured: training longer could not be judged', attempts: [attempt(1, 40, result({}, fid))], objectives: fid, decision: { kind: 'stop', reason: expect.stringMatching(/fid could not be measured/) } },
    { name: 'the budget ends the attempts', attempts: [attempt(1, 40, result({ fid: 90 }, fid)), attempt(2, 80, result({ fid: 70 }, fid))], objectives: fid, decision: { kind: 'stop', bestAttempt: 2, reason: expect.stringMatching(/budget of 2/) } },
    { name: 'a failed attempt stops with the reason', attempts: [attempt(1, 40, undefined, 'out of memory')], objectives: fid, decision: { kind: 'stop', reason: 'Attempt 1 failed: out of memory.' } },
  ])('$name', ({ attempts, objectives, decision }) => {
    expect(nextGenerationAttempt(candidates, attempts, objectives, 2)).toMatchObject(decision);
  });
});
