import { describe, expect, it } from '@jest/globals';
import type { DataProfile } from '../jobs/data-spec.js';
import { boxDataSummary, isBoxTask } from './boxes.js';
import { boundProfileOperations, decideDataOperations, decideFromProfile } from './decide.js';

const dist = { min: 1, p50: 2, p95: 3, max: 4, mean: 2 };
const profile: DataProfile = {
  rows: { loaded: 300, train: 240, test: 60, unlabelled: 0 },
  classes: [{ label: 'mug', train: 200, test: 50 }, { label: 'tin', train: 10, test: 3 }],
  minorityRatio: 0.05,
  duplicates: { exact: 2, near: 0, removed: 2 },
  leakage: { exact: 0, near: 0 },
  evaluation: { method: 'holdout', rows: 60, reason: 'given test source' },
  invalidRows: 3,
  boxes: {
    task: 'detection', images: 300, annotations: 263, emptyImages: 12, perImage: dist, classesPerImage: dist, widthPx: dist, heightPx: dist,
    relativeArea: dist, aspectRatio: dist, clipped: 4, dropped: 3,
    problems: [{ reason: 'missing-image', description: 'unknown image file (not found)', count: 2, examples: ['a.jpg'] },
      { reason: 'box-outside-image', description: 'box entirely outside its image', count: 1, examples: ['annotation 7'] }],
  },
};

describe('box tasks in the Data agent', () => {
  it.each([
    { task: 'visual-grounding', box: true }, { task: 'object-detection', box: true }, { task: 'image-classification', box: false }, { task: undefined, box: false },
  ] as const)('$task is a box task: $box', ({ task, box }) => {
    expect(isBoxTask(task)).toBe(box);
  });

  it('asks for no text/label operations and no second pass on boxes, even with a tiny minority class', () => {
    const task = { task: 'object-detection' as const, modality: 'image' as const };
    expect(decideDataOperations(task, ['train', 'test'])).toEqual([]);
    expect(decideFromProfile(task, profile)).toEqual([]);
    expect(boundProfileOperations(task, profile, [{ op: 'augment', targetMinorityRatio: 0.5, maxFactor: 2 }])).toEqual([]);
    expect(decideFromProfile({ task: 'image-classification', modality: 'image' }, profile).map((o) => o.op)).toEqual(['augment']);
  });

  it('summarises images, boxes, empty images, clipped boxes and what was left out with its reasons', () => {
    expect(boxDataSummary(profile)).toBe('300 images loaded from 300 images with 263 boxes, 2 classes, 12 empty images; 240 train / 60 test; 2 duplicates removed; ' +
      '4 boxes clipped to their image; left out 3 annotation(s): 2 unknown image file (not found), 1 box entirely outside its image. Evaluation: locked test split of 60 rows (whole images).');
    const { boxes: _none, ...classification } = profile;
    expect(boxDataSummary(classification)).toBeUndefined();
  });
});
