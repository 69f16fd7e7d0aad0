import { RATIO_METRICS } from '../bounds.js';
import type { Metric } from '../task-spec.js';
import { findNumbers } from './numbers.js';
import { normaliseRequirement } from './parse-requirement.js';
import { METRIC_PATTERNS } from './targets.js';

/**
 * Ratio targets written above 100% ("accuracy >= 150%", "precision of 120"): no fraction can meet
 * them, so the parser does not read them as objectives. Returned in words, so the Task agent can say
 * why it asks again instead of dropping them silently.
 */
export function ratioTargetsOver100(requirement: string): { metric: Metric; problem: string }[] {
  const text = normaliseRequirement(requirement);
  const numbers = findNumbers(text).filter((n) => n.unit === '' || n.unit === '%');
  const out: { metric: Metric; problem: string }[] = [];
  for (const [metric, pattern] of METRIC_PATTERNS) {
    if (!RATIO_METRICS.has(metric)) continue;
    for (const m of text.matchAll(pattern)) {
      const start = m.index!;
      const end = start + m[0].length;
      // The number the metric governs ("accuracy at least 150%"), else the one just before it ("150% accuracy").
      const token = numbers.find((n) => n.start >= end && n.start - end <= 40) ?? [...numbers].reverse().find((n) => n.end <= start && start - n.end <= 25);
      if (token && token.value > 100 && !out.some((o) => o.metric === metric)) {
        out.push({ metric, problem: `${metric} ${token.raw.trim()} is above 100%, and ${metric} is a fraction between 0 and 1` });
      }
    }
  }
  return out;
}
