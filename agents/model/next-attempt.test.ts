import type { TrainJobResult } from '../jobs/train-spec.js';
import { loadCatalog } from './catalog.js';
import { attemptScore, nextAttempt, type AttemptRecord } from './next-attempt.js';
import { selectCandidates } from './select.js';

const catalog = loadCatalog().entries;
const entry = (id: string) => catalog.find((e) => e.id === id)!;
const result = (accuracy: number, parameters: number, modelBytes: number): TrainJobResult => ({
  kind: 'train', modelId: 'x', family: 'f', metrics: { accuracy }, intervals: {}, evaluation: { method: 'holdout', rows: 500 },
  objectives: [], objectivesMet: false, parameters, modelBytes, trainRows: 100, pseudoLabelledRows: 0, durationSeconds: 1, seed: 0,
  perClass: [], confusionMatrix: { labels: [], matrix: [] }, plots: [], modelDir: '/m', packageVersions: {},
});
const attempt = (n: number, id: string, accuracy: number, parameters = 1000, bytes = 10_000, teacherAttempt?: number): AttemptRecord => ({
  n, model: { id, family: entry(id).family, hyperparameters: entry(id).hyperparameters }, reason: '', result: result(accuracy, parameters, bytes),
  ...(teacherAttempt ? { teacherAttempt } : {}),
});
const imageSelection = (maxParameters?: number) => selectCandidates({
  task: { task: 'image-classification', modality: 'image', constraints: maxParameters ? { maxParameters } : {} },
  profile: { rows: { loaded: 1300, train: 1000, test: 300, unlabelled: 0 }, classes: Array.from({ length: 10 }, (_, i) => ({ label: `${i}`, train: 100, test: 30 })) },
});
const target = [{ metric: 'accuracy' as const, op: '>=' as const, value: 0.9 }];

describe('nextAttempt', () => {
  it.each([
    { name: 'no attempts: start with the largest candidate', max: undefined, attempts: [], unlabelled: 0, expect: { kind: 'train', role: 'candidate', id: 'image-svc-rbf' } },
    { name: 'target met within limits: stop', max: undefined, attempts: [attempt(1, 'image-svc-rbf', 0.95)], unlabelled: 0, expect: { kind: 'stop', outcome: 'met' } },
    { name: 'missed with a larger model allowed: go larger', max: 2000, attempts: [attempt(1, 'image-logreg', 0.8, 650)], unlabelled: 0, expect: { kind: 'train', role: 'candidate', id: 'image-naive-bayes' } },
    { name: 'small model capped by size misses, unlabelled data exists: train a teacher', max: 1000, attempts: [attempt(1, 'image-logreg', 0.88, 650)], unlabelled: 1200, expect: { kind: 'train', role: 'teacher', id: 'image-svc-rbf' } },
    { name: 'teacher trained: the small model learns from its pseudo-labels', max: 1000, attempts: [attempt(1, 'image-logreg', 0.88, 650), attempt(2, 'image-svc-rbf', 0.92, 6760)], unlabelled: 1200, expect: { kind: 'train', role: 'student', id: 'image-svc-rbf', teacherAttempt: 2 } },
    { name: 'budget spent: stop and keep the best', max: undefined, attempts: [1, 2, 3, 4].map((n) => attempt(n, 'image-logreg', 0.5 + n / 100)), unlabelled: 0, expect: { kind: 'stop', outcome: 'budget', bestAttempt: 4 } },
  ])('$name', ({ max, attempts, unlabelled, expect: want }) => {
    const s = imageSelection(max);
    const d = nextAttempt({ task: { objectives: target, constraints: max ? { maxParameters: max } : {} }, candidates: s.candidates, teacherPool: s.teacherPool, attempts, maxAttempts: 4, profile: { rows: { loaded: 0, train: 1000, test: 300, unlabelled } } });
    expect(d.kind).toBe(want.kind);
    expect(d.reason.length).toBeGreaterThan(10);
    if (d.kind === 'train') {
      expect(d.role).toBe(want.role);
      if (want.role === 'student') {
        expect(d.model.id).toBe('image-logreg');
        expect(d.teacherAttempt).toBe(want.teacherAttempt);
      } else expect(d.model.id).toBe(want.id);
    } else {
      expect(d.outcome).toBe(want.outcome);
      if (want.bestAttempt) expect(d.bestAttempt).toBe(want.bestAttempt);
    }
  });

  it('meets the target but is too many bytes: quantize at conversion', () => {
    const s = selectCandidates({ task: { task: 'text-classification', modality: 'text', constraints: {} }, profile: { rows: { loaded: 0, train: 5000, test: 1000, unlabelled: 0 }, classes: [{ label: 'a', train: 2500, test: 1 }, { label: 'b', train: 2500, test: 1 }] } });
    const d = nextAttempt({ task: { objectives: target, constraints: { maxModelBytes: 2_000_000 } }, candidates: s.candidates, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.99, 900_000, 5_000_000)], maxAttempts: 4, profile: { rows: { loaded: 0, train: 5000, test: 1000, unlabelled: 0 } } });
    expect(d).toMatchObject({ kind: 'stop', outcome: 'quantize', bestAttempt: 1 });
  });

  it('an iterative model that misses with nothing larger left trains longer', () => {
    const s = imageSelection(5000);
    const d = nextAttempt({ task: { objectives: target, constraints: { maxParameters: 5000 } }, candidates: s.candidates.filter((e) => e.id === 'image-mlp-small'), attempts: [attempt(1, 'image-mlp-small', 0.85, 5000)], maxAttempts: 4, profile: { rows: { loaded: 0, train: 1000, test: 300, unlabelled: 0 } } });
    expect(d).toMatchObject({ kind: 'train', role: 'longer' });
    if (d.kind === 'train') expect(d.model.hyperparameters.maxIter).toBe(600);
  });

  describe('with PyTorch: classic first, then a frozen encoder, then fine-tuning; teachers and students', () => {
    const text = (constraints: { maxParameters?: number }, unlabelled: number) => ({
      selection: selectCandidates({
        task: { task: 'text-classification', modality: 'text', constraints }, frameworks: ['sklearn', 'torch'],
        profile: { rows: { loaded: 0, train: 2400, test: 600, unlabelled }, classes: [{ label: 'neg', train: 1200, test: 300 }, { label: 'pos', train: 1200, test: 300 }] },
      }),
      profile: { rows: { loaded: 0, train: 2400, test: 600, unlabelled } },
    });
    it.each([
      { name: 'nothing tried: the cheapest tier, the bigram SVM', constraints: {}, unlabelled: 0, attempts: [], role: 'candidate', id: 'text-tfidf-linearsvc-bigram' },
      { name: 'the classic tier falls short: climb to the frozen encoder', constraints: {}, unlabelled: 0, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.86)], role: 'candidate', id: 'text-minilm-frozen' },
      { name: 'the frozen encoder falls short: climb to fine-tuning the whole encoder', constraints: {}, unlabelled: 0, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.86), attempt(2, 'text-minilm-frozen', 0.9, 22_566_146)], role: 'candidate', id: 'text-minilm-finetune' },
      { name: 'fine-tuning falls short with nothing larger: train it longer', constraints: {}, unlabelled: 0, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.86), attempt(2, 'text-minilm-frozen', 0.9, 22_566_146), { ...attempt(3, 'text-minilm-finetune', 0.91, 22_566_146), model: { id: 'text-minilm-finetune', family: 'torch-text-encoder', hyperparameters: { epochs: 3 } } }], role: 'longer', id: 'text-minilm-finetune' },
      { name: 'under 10M parameters with unlabelled rows: fine-tune the big encoder as a teacher', constraints: { maxParameters: 10_000_000 }, unlabelled: 1000, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.7)], role: 'teacher', id: 'text-minilm-finetune' },
      { name: 'the teacher is better: the best small model learns from its soft labels first (it is cheap)', constraints: { maxParameters: 10_000_000 }, unlabelled: 1000, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.7), attempt(2, 'text-minilm-finetune', 0.93, 22_566_146)], role: 'student', id: 'text-tfidf-linearsvc-bigram', teacher: 2 },
      { name: 'that student falls short: the small distilled encoder learns from the same teacher', constraints: { maxParameters: 10_000_000 }, unlabelled: 1000, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.7), attempt(2, 'text-minilm-finetune', 0.93, 22_566_146), attempt(3, 'text-tfidf-linearsvc-bigram', 0.88, 900_000, 5_000_000, 2)], role: 'student', id: 'text-minilm-l3-distilled', teacher: 2 },
    ])('$name', ({ constraints, unlabelled, attempts, role, id, teacher }) => {
      const { selection, profile } = text(constraints, unlabelled);
      const d = nextAttempt({ task: { objectives: [{ metric: 'accuracy', op: '>=', value: 0.92 }], constraints }, candidates: selection.candidates, teacherPool: selection.teacherPool, attempts, maxAttempts: 5, profile });
      expect(d).toMatchObject({ kind: 'train', role, model: { id } });
      if (teacher) expect(d).toMatchObject({ teacherAttempt: teacher });
      if (role === 'longer' && d.kind === 'train') expect(d.model.hyperparameters.epochs).toBe(6);
    });

    it('a student that falls short trains longer and keeps its teacher', () => {
      const { selection, profile } = text({ maxParameters: 10_000_000 }, 1000);
      const student = { ...attempt(3, 'text-minilm-l3-distilled', 0.9, 7_000_000, 28_000_000, 2), model: { id: 'text-minilm-l3-distilled', family: 'torch-text-encoder', hyperparameters: { epochs: 5 } } };
      const d = nextAttempt({ task: { objectives: [{ metric: 'accuracy', op: '>=', value: 0.92 }], constraints: { maxParameters: 10_000_000 } }, candidates: selection.candidates, teacherPool: selection.teacherPool, attempts: [attempt(1, 'text-tfidf-linearsvc-bigram', 0.7), attempt(2, 'text-minilm-finetune', 0.93, 22_566_146), attempt(3, 'text-tfidf-linearsvc-bigram', 0.88, 900_000, 5_000_000, 2), { ...student, n: 4 }], maxAttempts: 6, profile });
      expect(d).toMatchObject({ kind: 'train', role: 'longer', teacherAttempt: 2, model: { id: 'text-minilm-l3-distilled', hyperparameters: { epochs: 10 } } });
    });
  });

  describe('tables: LightGBM first, with a linear baseline beside it', () => {
    const rows = { loaded: 442, train: 442, test: 0, unlabelled: 0 };
    const selection = selectCandidates({ task: { task: 'tabular-regression', modality: 'tabular' }, profile: { rows, classes: [] } });
    const regression = (n: number, id: string, rmse: number, baseline?: number): AttemptRecord => ({
      n, model: { id, family: entry(id).family, hyperparameters: entry(id).hyperparameters }, reason: '',
      result: { ...result(0, 1300, 30_000), metrics: { rmse, mae: rmse * 0.8 }, training: { framework: 'sklearn', hyperparameters: {},
        ...(baseline !== undefined ? { baseline: { model: 'sklearn-linear', metrics: { rmse: baseline, mae: baseline * 0.8 } } } : {}) } },
    });
    const rmse = [{ metric: 'rmse' as const, op: '<=' as const, value: 55 }];
    const decide = (attempts: AttemptRecord[], objectives = rmse) => nextAttempt({ task: { objectives }, candidates: selection.candidates, attempts, maxAttempts: 4, profile: { rows } });

    it('starts with LightGBM, for classification and regression alike', () => {
      expect(selection.candidates.map((c) => c.id)).toEqual(['tabular-lightgbm', 'tabular-linear']);
      expect(decide([])).toMatchObject({ kind: 'train', model: { id: 'tabular-lightgbm' } });
    });

    it.each([
      { name: 'an RMSE at or under the target meets it and stops', attempts: [regression(1, 'tabular-lightgbm', 54)], want: { kind: 'stop', outcome: 'met', bestAttempt: 1 } },
      { name: 'met, and the baseline beside it did worse: stop', attempts: [regression(1, 'tabular-lightgbm', 54, 56)], want: { kind: 'stop', outcome: 'met', bestAttempt: 1 } },
      { name: 'met, but the linear baseline beside it did better: train it too', attempts: [regression(1, 'tabular-lightgbm', 54, 50)], want: { kind: 'train', role: 'candidate', model: { id: 'tabular-linear' } } },
      { name: 'the linear model trained after the baseline was better: keep it and stop', attempts: [regression(1, 'tabular-lightgbm', 54, 50), regression(2, 'tabular-linear', 50)], want: { kind: 'stop', outcome: 'met', bestAttempt: 2 } },
    ])('$name', ({ attempts, want }) => {
      expect(decide(attempts)).toMatchObject(want);
    });

    it('met with a better baseline but no attempt left in the budget: stop with the met attempt', () => {
      const d = nextAttempt({ task: { objectives: rmse }, candidates: selection.candidates, attempts: [regression(1, 'tabular-lightgbm', 54, 50)], maxAttempts: 1, profile: { rows } });
      expect(d).toMatchObject({ kind: 'stop', outcome: 'met', bestAttempt: 1 });
    });

    it('says why it trains the baseline after a met target', () => {
      expect(decide([regression(1, 'tabular-lightgbm', 54, 50)]).reason).toMatch(/meets rmse <= 55 within the limits, but the sklearn-linear baseline fitted beside attempt #1 on the same rows scored rmse 50, better/);
    });

    it('the trees miss and the linear baseline fitted beside them did better: train the linear model next', () => {
      const d = decide([regression(1, 'tabular-lightgbm', 58, 54.5)]);
      expect(d).toMatchObject({ kind: 'train', role: 'candidate', model: { id: 'tabular-linear' } });
      expect(d.reason).toMatch(/baseline fitted beside attempt #1.*rmse 54\.5/);
    });

    it('the baseline did worse: train the trees longer instead', () => {
      expect(decide([regression(1, 'tabular-lightgbm', 58, 61)])).toMatchObject({ kind: 'train', role: 'longer', model: { id: 'tabular-lightgbm', hyperparameters: { maxRounds: 1000 } } });
    });

    it('a lower RMSE scores higher, with or without a stated target', () => {
      expect(attemptScore(regression(1, 'tabular-lightgbm', 50).result!, rmse)).toBeGreaterThan(attemptScore(regression(2, 'tabular-lightgbm', 60).result!, rmse));
      expect(attemptScore(regression(1, 'tabular-lightgbm', 50).result!, [])).toBeGreaterThan(attemptScore(regression(2, 'tabular-lightgbm', 60).result!, []));
    });
  });
});
