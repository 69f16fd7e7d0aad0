import { CircuitBreaker } from './circuit-breaker.js';

/**
 * One step of a scenario: set the clock, then record an outcome, or ask whether a call may go
 * (`allows`) and whether the circuit reads as open just after (a granted half-open trial keeps it open).
 */
type Step = { at: number } & ({ record: 'failed' | 'succeeded' } | { allows: boolean; open: boolean });

interface Scenario {
  name: string;
  threshold: number;
  cooldownMs: number;
  steps: Step[];
}

const scenarios: Scenario[] = [
  {
    name: 'stays closed below the threshold',
    threshold: 3,
    cooldownMs: 1_000,
    steps: [{ at: 0, record: 'failed' }, { at: 0, record: 'failed' }, { at: 0, allows: true, open: false }],
  },
  {
    name: 'opens at the threshold and refuses calls during the cooldown',
    threshold: 3,
    cooldownMs: 1_000,
    steps: [
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' }, { at: 10, record: 'failed' },
      { at: 10, allows: false, open: true },
      { at: 1_009, allows: false, open: true },
    ],
  },
  {
    name: 'a success resets the count of consecutive failures',
    threshold: 3,
    cooldownMs: 1_000,
    steps: [
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' }, { at: 0, record: 'succeeded' },
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' },
      { at: 0, allows: true, open: false },
    ],
  },
  {
    name: 'half-opens after the cooldown and lets exactly one trial call through',
    threshold: 2,
    cooldownMs: 1_000,
    steps: [
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' },
      { at: 1_000, allows: true, open: true },
      { at: 1_000, allows: false, open: true },
    ],
  },
  {
    name: 'a successful trial closes the circuit',
    threshold: 2,
    cooldownMs: 1_000,
    steps: [
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' },
      { at: 1_000, allows: true, open: true }, { at: 1_050, record: 'succeeded' },
      { at: 1_050, allows: true, open: false }, { at: 1_050, allows: true, open: false },
    ],
  },
  {
    name: 'a failed trial reopens the circuit for a whole new cooldown',
    threshold: 2,
    cooldownMs: 1_000,
    steps: [
      { at: 0, record: 'failed' }, { at: 0, record: 'failed' },
      { at: 1_500, allows: true, open: true }, { at: 1_600, record: 'failed' },
      { at: 2_599, allows: false, open: true },
      { at: 2_600, allows: true, open: true },
    ],
  },
];

describe('CircuitBreaker', () => {
  it.each(scenarios)('$name', ({ threshold, cooldownMs, steps }) => {
    let clock = 0;
    const breaker = new CircuitBreaker(threshold, cooldownMs, () => clock);
    steps.forEach((step, i) => {
      clock = step.at;
      if ('record' in step) {
        breaker[step.record]();
      } else {
        expect({ step: i, allows: breaker.allows(), open: breaker.open }).toEqual({ step: i, allows: step.allows, open: step.open });
      }
    });
  });

  it('uses threshold 3 and a 60 s cooldown by default', () => {
    let clock = 0;
    const breaker = new CircuitBreaker(undefined, undefined, () => clock);
    breaker.failed();
    breaker.failed();
    expect(breaker.allows()).toBe(true);
    breaker.failed();
    clock = 59_999;
    expect(breaker.allows()).toBe(false);
    clock = 60_000;
    expect(breaker.allows()).toBe(true);
  });
});
