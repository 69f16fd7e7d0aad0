import { SpreadResync, slotOf } from './resync.js';

describe('SpreadResync', () => {
  it('hands every key out exactly once per period, spread over the slots instead of at once', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `ns-${i % 7}/request-${i}`);
    const seen: string[] = [];
    const perSlot: number[] = [];
    const resync = new SpreadResync({ periodMs: 600_000, slots: 60, keys: () => keys, enqueue: (k) => seen.push(k) });
    for (let slot = 0; slot < 60; slot += 1) {
      const before = seen.length;
      resync.runSlot(slot);
      perSlot.push(seen.length - before);
    }
    expect(seen.sort()).toEqual([...keys].sort());
    // 1,000 keys in 60 slots: about 17 each; none anywhere near a burst of all of them.
    expect(Math.max(...perSlot)).toBeLessThan(40);
  });

  it('puts a key in the same slot in every process', () => {
    expect(slotOf('team-a/spam', 60)).toBe(slotOf('team-a/spam', 60));
    expect(slotOf('team-a/spam', 60)).toBeGreaterThanOrEqual(0);
  });
});
