import { applyMergePatch, deepEqual, mergePatch } from './status-patch.js';

describe('mergePatch', () => {
  it.each([
    { name: 'equal statuses: no patch', before: { phase: 'Training', conditions: [{ type: 'Ready', status: 'False' }] }, after: { conditions: [{ status: 'False', type: 'Ready' }], phase: 'Training' }, patch: undefined },
    { name: 'a changed scalar', before: { phase: 'Training' }, after: { phase: 'Converting' }, patch: { phase: 'Converting' } },
    { name: 'a removed key becomes null', before: { phase: 'AwaitingInput', question: 'more data?' }, after: { phase: 'Training' }, patch: { phase: 'Training', question: null } },
    { name: 'nested objects patch only what changed', before: { model: { name: 'm', metrics: { accuracy: 0.9 } } }, after: { model: { name: 'm', metrics: { accuracy: 0.95 } } }, patch: { model: { metrics: { accuracy: 0.95 } } } },
    { name: 'arrays are replaced whole', before: { conditions: [{ type: 'Ready', status: 'False' }] }, after: { conditions: [{ type: 'Ready', status: 'True' }] }, patch: { conditions: [{ type: 'Ready', status: 'True' }] } },
    { name: 'from nothing', before: {}, after: { phase: 'Pending', observedGeneration: 1 }, patch: { phase: 'Pending', observedGeneration: 1 } },
    { name: 'undefined keys are ignored', before: { phase: 'Ready' }, after: { phase: 'Ready', question: undefined }, patch: undefined },
  ])('$name', ({ before, after, patch }) => {
    const got = mergePatch(before, after);
    expect(got).toEqual(patch);
    if (got !== undefined) expect(deepEqual(applyMergePatch(before, got), JSON.parse(JSON.stringify(after)))).toBe(true);
  });
});
