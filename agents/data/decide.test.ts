import type { DataProfile } from '../jobs/data-spec.js';
import { boundProfileOperations, decideDataOperations, decideFromProfile, MIN_ROWS_AFTER_REDUCE, reviewDataProfile, rowsToJudge } from './decide.js';

const profile = (train: number[], test: number[], unlabelled = 0): DataProfile => ({
  rows: { loaded: 0, train: train.reduce((a, b) => a + b, 0), test: test.reduce((a, b) => a + b, 0), unlabelled },
  classes: train.map((n, i) => ({ label: `c${i}`, train: n, test: test[i] ?? 0 })),
  minorityRatio: Math.min(...train) / Math.max(...train),
  duplicates: { exact: 0, near: 0, removed: 0 }, leakage: { exact: 0, near: 0 }, invalidRows: 0,
  evaluation: { method: 'holdout', rows: test.reduce((a, b) => a + b, 0), reason: 'test' },
});

describe('decideDataOperations', () => {
  it.each([
    { name: 'text classification: clean, near-dedupe, fix labels', task: 'text-classification', modality: 'text', ops: ['clean', 'dedupe', 'label-errors'], near: true },
    { name: 'images: exact dedupe only (similar digits are not duplicates)', task: 'image-classification', modality: 'image', ops: ['clean', 'dedupe', 'label-errors'], near: false },
    { name: 'table classes: exact dedupe (similar rows are different cases), fix labels', task: 'tabular-classification', modality: 'tabular', ops: ['clean', 'dedupe', 'label-errors'], near: false },
    { name: 'a regression target: no label errors to find (no classes)', task: 'tabular-regression', modality: 'tabular', ops: ['clean', 'dedupe'], near: false },
  ])('$name', ({ task, modality, ops, near }) => {
    const decided = decideDataOperations({ task: task as never, modality: modality as never }, ['train']);
    expect(decided.map((o) => o.op)).toEqual(ops);
    expect(decided.find((o) => o.op === 'dedupe')).toMatchObject({ near });
  });
});

describe('decideFromProfile', () => {
  it.each([
    { name: 'balanced and plentiful: nothing more to do', p: profile([400, 400], [100, 100]), has: [], lacks: ['augment', 'reduce'] },
    { name: 'strong imbalance: augment the minority', p: profile([900, 50], [200, 10]), has: ['augment'], lacks: ['reduce'] },
    { name: 'unlabelled rows: left to the Model agent\'s teacher', p: profile([400, 400], [100, 100], 5000), has: [], lacks: ['auto-label'] },
    { name: 'a huge training split: reduce it', p: profile([150_000, 150_000], [1000, 1000]), has: ['reduce'], lacks: ['augment'] },
  ])('$name', ({ p, has, lacks }) => {
    const ops = decideFromProfile({ task: 'text-classification', modality: 'text' }, p).map((o) => o.op);
    for (const op of has) expect(ops).toContain(op);
    for (const op of lacks) expect(ops).not.toContain(op);
  });

  it('does not augment an imbalanced table (the trainer weights its classes instead)', () => {
    expect(decideFromProfile({ task: 'tabular-classification', modality: 'tabular' }, profile([900, 50], [200, 10]))).toEqual([]);
  });
});

describe('boundProfileOperations', () => {
  const text = { task: 'text-classification' as const, modality: 'text' as const };
  it.each([
    { name: 'an augmentation factor of 50 on text is capped at 3', p: profile([900, 50], [200, 10]), ops: [{ op: 'augment', targetMinorityRatio: 0.9, maxFactor: 10 }], want: [{ op: 'augment', targetMinorityRatio: 0.9, maxFactor: 3 }] },
    { name: 'augmenting a single class does nothing, so it is dropped', p: profile([900], [200]), ops: [{ op: 'augment', targetMinorityRatio: 0.5, maxFactor: 2 }], want: [] },
    { name: 'a reduction to 10 rows keeps the floor instead', p: profile([150_000, 150_000], [1000, 1000]), ops: [{ op: 'reduce', maxRows: 10 }], want: [{ op: 'reduce', maxRows: MIN_ROWS_AFTER_REDUCE }] },
    { name: 'a reduction of a small split is dropped', p: profile([400, 400], [100, 100]), ops: [{ op: 'reduce', maxRows: 100 }], want: [] },
    { name: 'anything but augment and reduce is dropped (the first pass ran them)', p: profile([400, 400], [100, 100], 10), ops: [{ op: 'auto-label', confidenceThreshold: 0.1 }, { op: 'label-errors', action: 'drop', folds: 5, minCorrectionConfidence: 0 }], want: [] },
  ])('$name', ({ p, ops, want }) => {
    expect(boundProfileOperations(text, p, ops as never)).toEqual(want);
  });

  it('drops a brain\'s augmentation of table rows', () => {
    const ops = [{ op: 'augment', targetMinorityRatio: 0.5, maxFactor: 2 }];
    expect(boundProfileOperations({ task: 'tabular-classification', modality: 'tabular' }, profile([900, 50], [200, 10]), ops as never)).toEqual([]);
  });
});

describe('reviewDataProfile', () => {
  it.each([
    { name: '5,000 rows for 90% accuracy: enough', p: profile([2500, 2500], [600, 600]), value: 0.9, more: false, rows: 0 },
    { name: '60 rows for 90% accuracy: ask for 79 more', p: profile([25, 25], [5, 5]), value: 0.9, more: true, rows: rowsToJudge({ metric: 'accuracy', op: '>=', value: 0.9 }) - 60 },
    { name: 'a thin class: ask for that class by name', p: profile([500, 10], [100, 2]), value: 0.8, more: true, rows: 18 },
  ])('$name', ({ p, value, more, rows }) => {
    const review = reviewDataProfile({ objectives: [{ metric: 'accuracy', op: '>=', value }] }, p);
    expect(review.moreDataNeeded).toBe(more);
    if (review.moreDataNeeded) {
      expect(review.additionalRows).toBe(rows);
      expect(review.question).toContain(String(rows));
    }
  });

  it.each([
    { value: 0.9, rows: 139 },
    { value: 0.985, rows: 1010 },
  ])('judging accuracy >= $value needs $rows labelled rows', ({ value, rows }) => {
    expect(rowsToJudge({ metric: 'accuracy', op: '>=', value })).toBe(rows);
  });
});
