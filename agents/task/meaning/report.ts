/**
 * Scores the offline brain on the held-out requirements and prints the per-category report:
 * `node --import tsx agents/task/meaning/report.ts` (TRAINER_AGENT_ENCODER=off for n-grams alone).
 */
import { evaluate, formatReport } from './evaluate.js';
import { defaultMeaningReader } from './reader.js';

console.log(formatReport(await evaluate(await defaultMeaningReader())));
