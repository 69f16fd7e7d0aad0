import { RATIO_METRICS } from '../bounds.js';
import { LOWER_IS_BETTER, type Constraints, type Metric, type Objective, type ServingTargets } from '../task-spec.js';
import { findNumbers, toBytes, toMilliseconds, type NumberToken } from './numbers.js';

/** How each metric is written. The first group of each pattern is the mention. */
export const METRIC_PATTERNS: [Metric, RegExp][] = [
  ['exact-match', /\b(exact[- ]match|em score)\b/g],
  ['accuracy', /\b(top-?1 accuracy|accuracy|accurate|acc|(?:right|correct)(?=\s+\d+(?:\.\d+)?\s?%))\b/g],
  ['f1', /\b(macro[- ]f1|micro[- ]f1|f1[- ]score|f1|f-1|f-score|f-measure)\b/g],
  ['precision', /\b(precision)\b/g],
  ['recall', /\b(recall|sensitivity)\b/g],
  ['auc', /\b(roc[- ]auc|auc[- ]roc|auroc|auc)\b/g],
  ['map', /\b(map(?:@[\d.:]+)?|mean average precision)\b/g],
  ['iou', /\b(miou|mean iou|iou|intersection over union|dice)\b/g],
  ['bleu', /\b(sacrebleu|bleu(?:-?4)?)\b/g],
  ['rouge', /\b(rouge(?:_[12l]|-[12l]|[12l])?)\b/g],
  ['fid', /\b(fid|fr[eé]chet inception distance)\b/g],
  ['clip-score', /\b(clip[- ]?score|clip similarity)\b/g],
  ['wer', /\b(wer|word error rate)\b/g],
  ['cer', /\b(cer|character error rate)\b/g],
  ['mae', /\b(mae|mean absolute error)\b/g],
  ['rmse', /\b(rmse|root mean squared? error)\b/g],
  ['mape', /\b(mape|mean absolute percentage error)\b/g],
  ['cider', /\b(cider(?:-d)?)\b/g],
];

// Metrics reported as fractions (RATIO_METRICS): "90%" and "90" both mean 0.9.

// Where one target's phrase ends: punctuation or a conjunction that starts another target.
const CLAUSE_END = /[;,!?]|\.(?=\s|$)|\b(and|but|while|with|plus|using)\b/g;

interface Mention {
  metric: Metric;
  start: number;
  end: number;
}

function metricMentions(text: string): Mention[] {
  const out: Mention[] = [];
  for (const [metric, pattern] of METRIC_PATTERNS) {
    for (const m of text.matchAll(pattern)) out.push({ metric, start: m.index!, end: m.index! + m[0].length });
  }
  // A mention inside a longer one ("auc" in "roc-auc") is dropped; earlier wins on equal spans.
  return out
    .filter((m) => !out.some((o) => o !== m && o.start <= m.start && o.end >= m.end && o.end - o.start > m.end - m.start))
    .sort((a, b) => a.start - b.start);
}

/** Offsets of clause ends in text. */
function clauseEnds(text: string): number[] {
  return [...text.matchAll(CLAUSE_END)].map((m) => m.index!);
}

const isPlain = (t: NumberToken) => t.unit === '' || t.unit === '%' || t.unit === 'x';

function metricValue(metric: Metric, token: NumberToken): number | undefined {
  let value = token.percent ? token.value / 100 : token.value;
  if (RATIO_METRICS.has(metric) && !token.percent && value > 1 && value <= 100) value /= 100;
  if (RATIO_METRICS.has(metric) && (value < 0 || value > 1)) return undefined;
  // CLIP scores are written as a cosine (0.31) or on torchmetrics' scale (31): targets use the latter.
  if (metric === 'clip-score' && !token.percent && value > 0 && value <= 1) value *= 100;
  return Number(value.toPrecision(12));
}

/** Objectives ("accuracy at least 90%", "97% accuracy", "WER below 10%") in lower-cased text. */
export function parseObjectives(text: string): Objective[] {
  const numbers = findNumbers(text).filter(isPlain);
  const mentions = metricMentions(text);
  const ends = clauseEnds(text);
  const used = new Set<NumberToken>();
  const objectives: Objective[] = [];
  mentions.forEach((mention, i) => {
    const next = mentions[i + 1]?.start ?? text.length;
    const prev = mentions[i - 1]?.end ?? 0;
    const clauseEnd = Math.min(next, ...ends.filter((e) => e >= mention.end));
    const clauseStart = Math.max(prev, ...ends.filter((e) => e < mention.start).map((e) => e + 1));
    // Prefer the number the metric governs ("accuracy of 0.9"), else the one just before it ("97% accuracy").
    const after = numbers.find((n) => !used.has(n) && n.start >= mention.end && n.end <= clauseEnd && n.start - mention.end <= 40);
    const before = [...numbers].reverse().find((n) => !used.has(n) && n.end <= mention.start && n.start >= clauseStart && mention.start - n.end <= 25);
    const token = after ?? before;
    if (!token) return;
    const value = metricValue(mention.metric, token);
    if (value === undefined) return;
    used.add(token);
    if (objectives.some((o) => o.metric === mention.metric)) return;
    objectives.push({ metric: mention.metric, op: LOWER_IS_BETTER.has(mention.metric) ? '<=' : '>=', value });
  });
  return objectives;
}

// The phrase around a number decides which target a quantity belongs to.
const window = (text: string, t: NumberToken, before = 40, after = 40) =>
  text.slice(Math.max(0, t.start - before), Math.min(text.length, t.end + after));

const LATENCY_WORDS = /\b(latency|latencies|response time|respond|responds|responding|inference time|p\d{2}|\d{2}(th)? percentile|tail|within|per (request|image|call|query|sample|prediction))\b/;
const MEMORY_WORDS = /\b(containers?|replicas?|pods?|memory|ram|vram|gpu memory|instances?|nodes?|machines?|servers?|deploy\w*|serving|limit)\b/;
const MODEL_SIZE_WORDS = /\b(model|fit|fits|file|weights|size|disk|footprint|on-device|device|mobile|phone|edge|embedded|download|checkpoint|artifact|binary)\b/;

/** Latency target in ms ("p99 latency 20 ms", "latency below 100ms", "respond within 0.2 s"). */
export function parseLatencyMs(text: string): number | undefined {
  for (const t of findNumbers(text)) {
    const ms = toMilliseconds(t);
    if (ms === undefined || t.unit.startsWith('min')) continue;
    const context = window(text, t, 50, 25);
    // Milliseconds are latency by nature; seconds only when the words say so.
    if (t.unit === 'ms' || t.unit.startsWith('milli') || t.unit.startsWith('msec') || t.unit === 'us' || t.unit === 'µs' || t.unit.startsWith('micro') || LATENCY_WORDS.test(context)) {
      if (/\b(train\w*|deadline|budget|timeout)\b/.test(context) && !LATENCY_WORDS.test(context)) continue;
      return Number(ms.toPrecision(12));
    }
  }
  return undefined;
}

const PER_SECOND = /^\s*(?:(?:requests?|req|queries|query|calls?|inferences?|predictions?|images?|emails?|messages?|transactions?|events?|documents?|texts?|items?|samples?)\s*)?(?:\/\s*s(?:ec(?:ond)?)?\b|per\s+second|a\s+second|each\s+second|every\s+second|\/\s*minute|per\s+minute|a\s+minute|\/\s*hour|per\s+hour|an\s+hour|\/\s*day|per\s+day|a\s+day)/;

/** Requests per second ("100 QPS", "QPS of 100", "500 requests per second", "1,200 req/min"). */
export function parseQps(text: string): number | undefined {
  const numbers = findNumbers(text);
  for (const t of numbers) {
    if (t.unit === 'qps' || t.unit === 'rps' || t.unit === 'tps') return t.value;
    const rest = text.slice(t.end);
    const per = PER_SECOND.exec(rest);
    if (per && (t.unit === '' || t.unit === 'magnitude')) {
      const scale = /minute/.test(per[0]) ? 60 : /hour/.test(per[0]) ? 3600 : /day/.test(per[0]) ? 86400 : 1;
      return Number((t.value / scale).toPrecision(12));
    }
  }
  // "QPS of 100", "throughput: 300", "qps >= 50".
  const named = /\b(qps|rps|throughput|requests per second|queries per second)\b[^0-9.,;]{0,20}?(\d[\d,]*(?:\.\d+)?\s*(?:k|thousand)?)\b/.exec(text);
  if (named) {
    const t = findNumbers(named[2]!)[0];
    if (t) return t.value;
  }
  return undefined;
}

/** Container memory ("2GB containers", "max 8 GiB per replica") and model size ("fit in 1 MB"). */
export function parseBytes(text: string): { memoryBytes?: number; maxModelBytes?: number } {
  const out: { memoryBytes?: number; maxModelBytes?: number } = {};
  for (const t of findNumbers(text)) {
    const bytes = toBytes(t);
    if (bytes === undefined) continue;
    // Only the words of this number's own clause count: "model under 50MB, 4GiB pods".
    const after = text.slice(t.end, t.end + 30).split(/[;,]|\.\s|\band\b/)[0]!;
    const before = text.slice(Math.max(0, t.start - 40), t.start).split(/[;,]|\.\s|\band\b/).at(-1)!;
    const memoryHere = MEMORY_WORDS.test(after) || MEMORY_WORDS.test(before);
    const modelHere = MODEL_SIZE_WORDS.test(after) || MODEL_SIZE_WORDS.test(before);
    // "memory" or "container" wins when both are said: a model can be small, the pod is what is limited.
    const isMemory = memoryHere && !(/\bmodel (size|file|weights)\b/.test(before + after) && !/\b(memory|containers?|ram)\b/.test(before + after));
    if (isMemory) out.memoryBytes ??= bytes;
    else if (modelHere || bytes < 1e8) out.maxModelBytes ??= bytes;
    else out.memoryBytes ??= bytes;
  }
  return out;
}

const PARAM_WORD = /(trainable\s+)?(parameters?|params?|weights)\b/;

/** Parameter budget ("fewer than 10M parameters", "under 250 million parameters", "a 1.5B model"). */
export function parseMaxParameters(text: string): number | undefined {
  for (const t of findNumbers(text)) {
    const after = text.slice(t.end, t.end + 25);
    const before = text.slice(Math.max(0, t.start - 40), t.start);
    if (t.unit === 'param' || t.unit === 'params' || t.unit === 'parameter' || t.unit === 'parameters') return Math.round(t.value);
    if (t.unit === 'magnitude' || t.unit === '') {
      if (new RegExp(`^\\s*${PARAM_WORD.source}`).test(after)) return Math.round(t.value);
      if (t.unit === 'magnitude' && /^\s*(-|\s)?(parameter\s+)?(model|llm|network|net)\b/.test(after)) return Math.round(t.value);
      if (new RegExp(`${PARAM_WORD.source}\\s*(count\\s*)?(of|under|below|at most|max(imum)?|no more than|less than|fewer than|<=?|≤|:)?\\s*$`).test(before)) return Math.round(t.value);
    }
  }
  return undefined;
}

/** Class names when the requirement lists them ("as spam or ham", "labels: positive, negative, neutral"). */
export function parseLabels(original: string): string[] | undefined {
  const m =
    /(?:\b(?:as|into|between|labels?:?|classes:?|categories:?)\s+|\()((?:["'“]?[\p{L}][\p{L}\d_-]*(?:\s[\p{L}][\p{L}\d_-]*)?["'”]?\s*(?:,\s*(?:or\s+|and\s+)?|\s+or\s+|\s+and\s+|\s*\/\s*)){1,19}["'“]?[\p{L}][\p{L}\d_-]*["'”]?)(?=\s*(?:[.;:!?)]|,?\s+(?:with|at|and|using|for|so|where|which|that)\b|$))/iu.exec(original);
  if (!m) return undefined;
  const items = m[1]!
    .split(/\s*,\s*(?:or\s+|and\s+)?|\s+or\s+|\s+and\s+|\s*\/\s*/)
    .map((s) => s.replace(/["'“”]/g, '').trim())
    .filter(Boolean);
  const stop = /^(the|a|an|one|two|three|four|five|\d+|classes|categories|labels|well|possible|either|both)$/i;
  if (items.length < 2 || items.some((i) => stop.test(i) || i.split(' ').length > 2)) return undefined;
  return [...new Set(items.map((i) => i.toLowerCase()))];
}

/** Every target in the text: objectives, constraints, serving. */
export function parseTargets(text: string): { objectives: Objective[]; constraints: Constraints; serving: ServingTargets } {
  const bytes = parseBytes(text);
  const constraints: Constraints = {};
  const maxParameters = parseMaxParameters(text);
  if (maxParameters !== undefined) constraints.maxParameters = maxParameters;
  if (bytes.maxModelBytes !== undefined) constraints.maxModelBytes = bytes.maxModelBytes;
  const serving: ServingTargets = {};
  const qps = parseQps(text);
  if (qps !== undefined) serving.qps = qps;
  const latency = parseLatencyMs(text);
  if (latency !== undefined) serving.latencyP99Ms = latency;
  if (bytes.memoryBytes !== undefined) serving.memoryBytes = bytes.memoryBytes;
  const accelerator = /\b(on |a |single |one )?(gpus?|cuda|a100|h100|h200|t4|l4|a10g?|v100)\b/.exec(text);
  if (accelerator) serving.accelerator = /gpu|cuda/.test(accelerator[2]!) ? 'gpu' : accelerator[2]!.toUpperCase();
  else if (/\b(cpu[- ]only|on cpus?|cpu inference|without (a )?gpu|no gpu)\b/.test(text)) serving.accelerator = 'cpu';
  return { objectives: parseObjectives(text), constraints, serving };
}
