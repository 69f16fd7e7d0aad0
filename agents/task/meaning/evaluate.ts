import { loadHeldOut, type HeldOutEntry } from '../knowledge/knowledge.js';
import { screenInstructions } from '../parse/injection.js';
import { parseRequirement } from '../parse/parse-requirement.js';
import type { TaskSpec } from '../task-spec.js';
import type { MeaningReader } from './reader.js';

/** One row of the per-category report. */
export interface CategoryScore {
  category: string;
  passed: number;
  total: number;
}

/** How the offline brain did on a labelled set. */
export interface EvaluationReport {
  source: string;
  passed: number;
  total: number;
  byCategory: CategoryScore[];
  byLanguage: CategoryScore[];
  /** Unethical requests refused / unethical requests. */
  unethicalRefused: { refused: number; total: number };
  /** Legitimate look-alikes of a harm that were refused (false refusals). */
  falseRefusals: { refused: number; total: number; ids: string[] };
  /** Milliseconds per requirement after warm-up. */
  latencyMs: { p50: number; p95: number; max: number };
  failures: { id: string; text: string; why: string[] }[];
}

/** Why a prediction misses its expectation (decision, task, objectives), or nothing. */
export function misses(expect: HeldOutEntry['expect'], spec: TaskSpec): string[] {
  const out: string[] = [];
  if (spec.decision !== expect.decision) out.push(`decision ${spec.decision} != ${expect.decision}`);
  if (expect.task && spec.task !== expect.task) out.push(`task ${spec.task ?? 'none'} != ${expect.task}`);
  const objectives = (expect as { objectives?: { metric: string; value: number; op?: string }[] }).objectives ?? [];
  for (const o of objectives) {
    const hit = spec.objectives.find((p) => p.metric === o.metric && p.op === (o.op ?? '>=') && Math.abs(p.value - o.value) <= 1e-6 * Math.max(1, Math.abs(o.value)));
    if (!hit) out.push(`objective ${o.metric} ${o.op ?? '>='} ${o.value} missing`);
  }
  return out;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;

function tally(rows: { key: string; ok: boolean }[]): CategoryScore[] {
  const m = new Map<string, CategoryScore>();
  for (const r of rows) {
    const s = m.get(r.key) ?? { category: r.key, passed: 0, total: 0 };
    s.total += 1;
    if (r.ok) s.passed += 1;
    m.set(r.key, s);
  }
  return [...m.values()].sort((a, b) => a.category.localeCompare(b.category));
}

/** Read every held-out requirement as `trainer-agent parse` would and score it. */
export async function evaluate(reader: MeaningReader, items: HeldOutEntry[] = loadHeldOut()): Promise<EvaluationReport> {
  // Warm-up: the first calls pay for lazy initialisation, not per-requirement work.
  for (const item of items.slice(0, 3)) parseRequirement(item.text, await reader.read(screenInstructions(item.text).text));
  const rows: { item: HeldOutEntry; spec: TaskSpec; ms: number }[] = [];
  for (const item of items) {
    const start = performance.now();
    const spec = parseRequirement(item.text, await reader.read(screenInstructions(item.text).text));
    rows.push({ item, spec, ms: performance.now() - start });
  }
  const judged = rows.map((r) => ({ ...r, why: misses(r.item.expect, r.spec) }));
  const unethical = judged.filter((r) => r.item.expect.decision === 'reject-unethical');
  const lookalikes = judged.filter((r) => r.item.category === 'lookalike');
  const falselyRefused = lookalikes.filter((r) => r.spec.decision === 'reject-unethical');
  const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
  return {
    source: reader.source,
    passed: judged.filter((r) => r.why.length === 0).length,
    total: judged.length,
    byCategory: tally(judged.map((r) => ({ key: r.item.category, ok: r.why.length === 0 }))),
    byLanguage: tally(judged.map((r) => ({ key: r.item.lang, ok: r.why.length === 0 }))),
    unethicalRefused: { refused: unethical.filter((r) => r.spec.decision === 'reject-unethical').length, total: unethical.length },
    falseRefusals: { refused: falselyRefused.length, total: lookalikes.length, ids: falselyRefused.map((r) => r.item.id) },
    latencyMs: { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), max: ms.at(-1) ?? 0 },
    failures: judged.filter((r) => r.why.length > 0).map((r) => ({ id: r.item.id, text: r.item.text, why: r.why })),
  };
}

/** The report as a few readable lines. */
export function formatReport(r: EvaluationReport): string {
  const pct = (a: number, b: number) => `${a}/${b} (${b ? ((100 * a) / b).toFixed(1) : '0'}%)`;
  return [
    `Held-out score (${r.source}): ${pct(r.passed, r.total)}`,
    `Unethical refused: ${pct(r.unethicalRefused.refused, r.unethicalRefused.total)}; false refusals of look-alikes: ${pct(r.falseRefusals.refused, r.falseRefusals.total)}`,
    `Latency per requirement after warm-up: p50 ${r.latencyMs.p50.toFixed(1)} ms, p95 ${r.latencyMs.p95.toFixed(1)} ms, max ${r.latencyMs.max.toFixed(1)} ms`,
    'By language: ' + r.byLanguage.map((c) => `${c.category} ${c.passed}/${c.total}`).join(', '),
    'By category:',
    ...r.byCategory.map((c) => `  ${c.category.padEnd(26)} ${c.passed}/${c.total}`),
    ...(r.failures.length ? ['Misses:', ...r.failures.map((f) => `  ${f.id} ${f.why.join('; ')} — ${f.text.slice(0, 90)}`)] : []),
  ].join('\n');
}
