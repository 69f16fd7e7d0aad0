import { loadCatalog, parseCatalog } from './catalog.js';

describe('model catalog', () => {
  it('the shipped catalog parses and covers text, image and tabular classification, and tabular regression', () => {
    const { entries } = loadCatalog();
    for (const task of ['text-classification', 'image-classification', 'tabular-classification', 'tabular-regression'] as const) {
      expect(entries.some((e) => e.tasks.includes(task))).toBe(true);
    }
  });

  it.each([
    { name: 'duplicate ids are rejected', yaml: 'entries:\n  - {id: a, tasks: [ocr], modalities: [image], family: f, framework: sklearn, rank: 1, approxParameters: 1, approxBytes: 1, expectedLatencyMs: 1, source: config}\n  - {id: a, tasks: [ocr], modalities: [image], family: f, framework: sklearn, rank: 1, approxParameters: 1, approxBytes: 1, expectedLatencyMs: 1, source: config}' },
    { name: 'an unknown framework is rejected', yaml: 'entries:\n  - {id: a, tasks: [ocr], modalities: [image], family: f, framework: jax, rank: 1, approxParameters: 1, approxBytes: 1, expectedLatencyMs: 1, source: config}' },
  ])('$name', ({ yaml }) => {
    expect(() => parseCatalog(yaml)).toThrow();
  });
});
