import { describe, expect, it } from '@jest/globals';
import { planHyperparameters } from './hyperparameters.js';
import { loadCatalog } from './catalog.js';
import { isTrainable, selectCandidates } from './select.js';

describe('catalog models for the box tasks', () => {
  it.each([
    { task: 'visual-grounding', modality: 'multimodal', first: 'grounding-owlvit-small', rows: 1000, classes: [] },
    { task: 'object-detection', modality: 'image', first: 'detection-fcos-small', rows: 360, classes: [{ label: 'mug', train: 90, test: 30 }, { label: 'tin', train: 80, test: 20 }] },
  ] as const)('$task: $first first, trained with torch', ({ task, modality, first, rows, classes }) => {
    expect(isTrainable(task, modality)).toBe(true);
    const s = selectCandidates({ task: { task, modality, constraints: {} }, profile: { rows: { loaded: rows, train: rows, test: 100, unlabelled: 0 }, classes: [...classes] }, frameworks: ['sklearn', 'torch'] });
    expect(s.candidates[0]?.id).toBe(first);
    const without = selectCandidates({ task: { task, modality, constraints: {} }, profile: { rows: { loaded: rows, train: rows, test: 100, unlabelled: 0 }, classes: [...classes] } });
    expect(without.candidates).toEqual([]);
    expect(without.rejected.find((r) => r.id === first)?.reasons.join(' ')).toContain('torch is not available');
  });

  it('a 10M-parameter cap leaves the pretrained OWL-ViT out of a grounding request', () => {
    const s = selectCandidates({ task: { task: 'visual-grounding', modality: 'multimodal', constraints: { maxParameters: 10_000_000 } },
      profile: { rows: { loaded: 800, train: 800, test: 200, unlabelled: 0 }, classes: [] }, frameworks: ['sklearn', 'torch'] });
    expect(s.candidates.map((c) => c.id)).toEqual(['grounding-owlvit-small']);
    expect(s.rejected.find((r) => r.id === 'grounding-owlvit-base-patch32')?.reasons.join(' ')).toContain('parameters exceeds');
  });

  it('plans epochs from the rows and keeps the catalog\'s batch size for a from-config grounding model', () => {
    const entry = loadCatalog().entries.find((e) => e.id === 'grounding-owlvit-small')!;
    const plan = planHyperparameters(entry, { id: entry.id, family: entry.family, hyperparameters: {} },
      { profile: { rows: { loaded: 1000, train: 1000, test: 300, unlabelled: 0 }, evaluation: { method: 'holdout', rows: 300, reason: '' } }, gpu: false, pseudoRows: 0 });
    expect(plan.model.hyperparameters).toMatchObject({ batchSize: 16, epochs: 15, imageSize: 128 });
    expect(plan.model.hyperparameters.maxLength).toBe(16);
  });
});
