import type { GenerationDataProfile } from '../jobs/generation-spec.js';
import { reviewStyleSet, styleSetSummary } from './generation.js';

function profile(train: number, heldOut: number): GenerationDataProfile {
  return {
    images: { files: train + heldOut + 1, valid: train + heldOut, invalid: 1, kept: train + heldOut, train, heldOut },
    resolutions: { '64x64': train + heldOut }, shortSide: { min: 64, p50: 64, p95: 64, max: 64, mean: 64 },
    belowResolution: 0, extremeAspect: 0, trainingResolution: 32,
    duplicates: { exact: 1, near: 0, removed: 1 }, leakage: { exact: 0, near: 0 },
    captions: { given: 2, fromMetadata: 2, fromSidecar: 0, fromNames: train + heldOut - 2, empty: 0, coverage: 0.1, distinct: train + heldOut, examples: [] },
    heldOut: { method: 'split', images: heldOut, reason: 'held out at random' },
  };
}

describe('reviewStyleSet', () => {
  it.each([
    { name: 'enough images, no target', train: 19, heldOut: 5, objectives: [], more: 0 },
    { name: 'too few to learn a style: asks for the difference', train: 5, heldOut: 2, objectives: [], more: 3, question: /at least 8 images of the style to learn it, and 5 are left/ },
    { name: 'an FID target needs held-out images', train: 10, heldOut: 0, objectives: [{ metric: 'fid' as const, op: '<=' as const, value: 40 }], more: 2, question: /needs at least 2 held-out style images/ },
    { name: 'a small held-out set is called noisy, not refused', train: 20, heldOut: 5, objectives: [{ metric: 'fid' as const, op: '<=' as const, value: 40 }], more: 0, reason: /noisy estimate/ },
  ])('$name', ({ train, heldOut, objectives, more, question, reason }) => {
    const review = reviewStyleSet({ objectives }, profile(train, heldOut));
    expect(review.additionalRows).toBe(more);
    expect(review.moreDataNeeded).toBe(more > 0);
    if (question && review.moreDataNeeded) expect(review.question).toMatch(question);
    if (reason) expect(review.reasons.join(' ')).toMatch(reason);
  });

  it('the summary says how many captions were written from names', () => {
    expect(styleSetSummary(profile(19, 5))).toMatch(/24 style images loaded \(1 unreadable\); 19 to learn from, 5 held out .*captions: 2 given \(10%\), 22 written from file and folder names/);
  });
});
