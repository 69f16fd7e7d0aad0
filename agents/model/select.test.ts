import type { DataProfile } from '../jobs/data-spec.js';
import { isTrainable, selectCandidates } from './select.js';

const profile = (train: number, classes = 2): Pick<DataProfile, 'rows' | 'classes'> => ({
  rows: { loaded: train, train, test: Math.round(train / 4), unlabelled: 0 },
  classes: Array.from({ length: classes }, (_, i) => ({ label: `c${i}`, train: Math.round(train / classes), test: 1 })),
});

describe('selectCandidates', () => {
  it.each([
    { name: 'text without limits: the bigram SVM first, torch left out for lack of torch', task: 'text-classification', modality: 'text', constraints: {}, rows: 5000, first: 'text-tfidf-linearsvc-bigram', left: 'text-minilm-finetune', why: 'torch is not available' },
    { name: 'a 2 MB limit leaves out the bigram SVM', task: 'text-classification', modality: 'text', constraints: { maxModelBytes: 2_000_000 }, rows: 5000, first: 'text-tfidf-logreg', left: 'text-tfidf-linearsvc-bigram', why: 'exceeds the limit' },
    { name: 'digits: the RBF SVM first', task: 'image-classification', modality: 'image', constraints: {}, rows: 1400, first: 'image-svc-rbf', left: 'image-cnn-small', why: 'torch' },
    { name: 'a 1,000-parameter cap leaves the smallest image models', task: 'image-classification', modality: 'image', constraints: { maxParameters: 1000 }, rows: 1400, first: 'image-logreg', left: 'image-svc-rbf', why: 'parameters exceeds' },
    { name: 'too few rows per class rules out the MLP', task: 'image-classification', modality: 'image', constraints: {}, rows: 100, classes: 10, first: 'image-svc-rbf', left: 'image-mlp-small', why: 'rows per class' },
  ])('$name', ({ task, modality, constraints, rows, classes, first, left, why }) => {
    const s = selectCandidates({ task: { task: task as never, modality: modality as never, constraints }, profile: profile(rows, classes) });
    expect(s.candidates[0]?.id).toBe(first);
    const rejected = s.rejected.find((r) => r.id === left);
    expect(rejected?.reasons.join(' ')).toContain(why);
    expect(s.reasons.length).toBeGreaterThan(0);
  });

  it.each([
    { name: 'with torch: classic models first, then the torch tiers', frameworks: ['sklearn', 'torch'] as const, first: 'image-svc-rbf', includes: ['image-cnn-small', 'image-efficientnet-lite0'] },
    { name: 'without torch: torch entries are left out with the reason', frameworks: ['sklearn'] as const, first: 'image-svc-rbf', includes: [] },
  ])('$name', ({ frameworks, first, includes }) => {
    const s = selectCandidates({ task: { task: 'image-classification', modality: 'image', constraints: {} }, profile: profile(50000, 10), frameworks: [...frameworks] });
    expect(s.candidates[0]?.id).toBe(first);
    for (const id of includes) expect(s.candidates.map((c) => c.id)).toContain(id);
    const tiers = s.candidates.map((c) => c.tier);
    expect(tiers).toEqual([...tiers].sort((a, b) => a - b));
    if (includes.length === 0) expect(s.rejected.find((r) => r.id === 'image-cnn-small')?.reasons.join(' ')).toContain('torch is not available');
  });

  it('the teacher pool ignores size limits', () => {
    const s = selectCandidates({ task: { task: 'image-classification', modality: 'image', constraints: { maxParameters: 1000 } }, profile: profile(1400, 10) });
    expect(s.teacherPool[0]?.id).toBe('image-svc-rbf');
  });

  it.each([
    { task: 'text-classification', modality: 'text', trainable: true },
    { task: 'image-classification', modality: 'image', trainable: true },
    { task: 'summarization', modality: 'text', trainable: false },
  ])('isTrainable($task, $modality) is $trainable', ({ task, modality, trainable }) => {
    expect(isTrainable(task as never, modality as never)).toBe(trainable);
  });
});
