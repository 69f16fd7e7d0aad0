/**
 * Leave-one-out over the knowledge base (never the held-out set): each entry is read with itself
 * left out, for a grid of parameters. `node --import tsx agents/task/meaning/tune.ts`.
 */
import { judge } from '../judge.js';
import { normaliseRequirement } from '../parse/parse-requirement.js';
import { parseTargets } from '../parse/targets.js';
import { taskCueScores } from '../parse/vocabulary.js';
import { decideByMeaning, DEFAULT_THRESHOLDS, type MeaningThresholds } from './decide.js';
import { vote } from './knn.js';
import { cachedEncoder, ensureEncoder } from '../../brain/encoder/fetch.js';
import { OnnxSentenceEncoder } from '../../brain/encoder/sentence-encoder.js';
import { DEFAULT_READER, MeaningReader, type Meaning } from './reader.js';

const encoder = await OnnxSentenceEncoder.load(cachedEncoder() ?? (await ensureEncoder()));
const mixes = process.argv.includes('--ngrams-only') ? [0] : process.argv.includes('--verbose') ? [DEFAULT_READER.mix] : [0.5, 0.65, 0.8, 0.9];
const verbose = process.argv.includes('--verbose');
const rows: string[] = [];
for (const mixValue of mixes) {
const reader = await MeaningReader.create(mixValue === 0 ? {} : { encoder, params: { ...DEFAULT_READER, mix: mixValue } });
const entries = reader.entries;
const precomputed = await Promise.all(entries.map(async (e) => ({ e, neighbours: await reader.neighbours(e.text, e.id), text: normaliseRequirement(e.text) })));

function score(mix: number, k: number, power: number, t: MeaningThresholds) {
  let ok = 0;
  let falseRefusals = 0;
  let missedRefusals = 0;
  for (const { e, neighbours, text } of precomputed) {
    // Re-mix: neighbours carry the mixed similarity of the reader's own mix; recompute when asked.
    void mix;
    const votes = vote(neighbours, { k, power });
    const meaning: Meaning = { ...votes, source: reader.source, maxSimilarity: votes.nearest[0]?.similarity ?? 0 };
    const targets = parseTargets(text);
    const verdict = decideByMeaning(e.text.normalize('NFKC').toLowerCase(), meaning, { judgement: judge(text, { ...targets }), cues: taskCueScores(text) }, t);
    const decision = verdict.decision;
    const right = decision === e.decision && (!e.task || verdict.task === e.task);
    if (right) ok += 1;
    else if (verbose) console.log(`${e.id} got ${decision}/${verdict.task} want ${e.decision}/${e.task} — ${e.text}`);
    if (e.lookalike && decision === 'reject-unethical') falseRefusals += 1;
    if (e.decision === 'reject-unethical' && decision !== 'reject-unethical') missedRefusals += 1;
  }
  return { ok, falseRefusals, missedRefusals };
}

if (verbose) {
  score(0, DEFAULT_READER.vote.k, DEFAULT_READER.vote.power, DEFAULT_THRESHOLDS);
  process.exit(0);
}
for (const k of [5, 7, 9]) {
  for (const power of [2, 4, 8]) {
    for (const refuse of [0.4, 0.5, 0.6]) {
      for (const refuseProtective of [0.6, 0.75, 0.9]) {
        for (const cueWeight of [0.25, 0.5, 1]) {
          const t = { ...DEFAULT_THRESHOLDS, refuse, refuseProtective, cueWeight };
          const s = score(reader.params.mix, k, power, t);
          rows.push(`${s.ok}\t${s.falseRefusals}\t${s.missedRefusals}\tmix=${mixValue} k=${k} power=${power} refuse=${refuse} protective=${refuseProtective} cue=${cueWeight}`);
        }
      }
    }
  }
}
}
rows.sort((a, b) => Number(b.split('\t')[0]) - Number(a.split('\t')[0]));
console.log('ok / false refusals / missed refusals');
console.log(rows.slice(0, 25).join('\n'));
