import type { Judgement } from '../judge.js';
import type { Modality, Task } from '../task-spec.js';
import { modalityOf } from '../parse/vocabulary.js';
import { harmReason, type HarmCategory } from './harms.js';
import { top } from './knn.js';
import type { Meaning } from './reader.js';

/** Where the meaning-based votes tip a decision. Tuned by leave-one-out on the knowledge base only. */
export interface MeaningThresholds {
  /** Share of refused neighbours that refuses a request. */
  refuse: number;
  /** The same when the request reads as protective (detect, filter, moderate...) and shows no evasion. */
  refuseProtective: number;
  /** Share of infeasible neighbours that makes a request infeasible. */
  infeasible: number;
  /** Share of vague neighbours that asks the user for more. */
  vague: number;
  /** Below this similarity to everything known, and with no vocabulary cue, ask the user. */
  unknownSimilarity: number;
  /** How much the phrase vocabulary counts against the neighbours' task vote (a full cue = this much share). */
  cueWeight: number;
}

export const DEFAULT_THRESHOLDS: MeaningThresholds = { refuse: 0.4, refuseProtective: 0.75, infeasible: 0.5, vague: 0.5, unknownSimilarity: 0.25, cueWeight: 1 };

// Protective intent in English, Chinese and Spanish: building a detector or a filter protects people.
const PROTECTIVE = /\b(detect\w*|classif\w*|filter\w*|flag\w*|moderat\w*|block\w*|spot\w*|catch\w*|remov\w*|redact\w*|mask\w*|audit\w*|report\w*|protect\w*|prevent\w*|defen[cs]\w*|tell (real|genuine|whether|if|apart)|real or|genuine or|detectar|clasificar|filtrar|moderar|bloquear|eliminar|denunciar|proteger)\b|识别并|检测|过滤|拦截|审核|鉴别|防范|脱敏|举报|删除|屏蔽/;
// Infeasibility lies in what is promised, not in the topic: the neighbours may call a request
// infeasible only when it promises certainty or bets on chance in so many words.
const CERTAINTY_OR_CHANCE = /\b(guarantee\w*|never (be )?wrong|never makes?|always (right|correct)|zero (errors?|mistakes?|false)|100 ?%|perfect|lottery|lotto|roulette|dice|coin|garantiz\w*|nunca se equivoque|siempre acierte|loter[ií]a|ruleta)\b|保证|百分之百|绝不|永远不|彩票|轮盘|骰子/;

// Words that turn a detector into a way around one.
const EVASION = /\b(evad\w*|evasion|bypass\w*|undetect\w*|get\w* (past|around|through)|slip\w* (past|through)|fool\w*|trick\w*|can'?t (see|detect)|evadir|esquivar|burlar)\b|躲过|绕过|逃避|免杀/;

/** Whether the request reads as protecting people from a harm rather than causing it. */
export function protectiveIntent(text: string): boolean {
  return PROTECTIVE.test(text) && !EVASION.test(text);
}

/** The meaning-based reading of one requirement, before targets are added. */
export interface MeaningVerdict {
  decision: Judgement['decision'] | 'needs-input';
  reasons: string[];
  task?: Task;
  modality?: Modality;
  harm?: HarmCategory;
}

/**
 * Combine the rules (exact phrases, numbers) with what the knowledge base's nearest requirements
 * say. A rule's refusal stands; the neighbours can add a refusal the rules missed, pick the task
 * the phrases did not name, or say the request is too vague. Pure.
 */
export function decideByMeaning(
  text: string,
  meaning: Meaning,
  rules: { judgement: Judgement; cues: Map<Task, number> },
  t: MeaningThresholds = DEFAULT_THRESHOLDS,
): MeaningVerdict {
  const share = (d: 'accept' | 'needs-input' | 'reject-unethical' | 'reject-infeasible') => meaning.decision.get(d) ?? 0;
  const taskOf = () => chooseTask(meaning, rules.cues, t);
  if (rules.judgement.decision === 'reject-unethical') return { ...rules.judgement, ...taskOf() };
  const protective = protectiveIntent(text);
  if (share('reject-unethical') >= (protective ? t.refuseProtective : t.refuse)) {
    const harm = top(meaning.harm)![0];
    return { decision: 'reject-unethical', reasons: [harmReason(harm)], harm, ...taskOf() };
  }
  if (rules.judgement.decision === 'reject-infeasible') return { ...rules.judgement, ...taskOf() };
  if (share('reject-infeasible') >= t.infeasible && CERTAINTY_OR_CHANCE.test(text)) {
    return {
      decision: 'reject-infeasible',
      reasons: ['It asks for a guaranteed result or to predict chance (lotteries, roulette, market prices day after day); no model trained on finite, noisy data can promise that, and a test set could not prove it.'],
      ...taskOf(),
    };
  }
  const strongestCue = Math.max(0, ...rules.cues.values());
  if (strongestCue < 1.5 && (share('needs-input') >= t.vague || meaning.maxSimilarity < t.unknownSimilarity)) {
    return { decision: 'needs-input', reasons: [] };
  }
  return { decision: 'accept', reasons: [], ...taskOf() };
}

/** The task with the most support: the neighbours' vote plus the vocabulary's cue (capped at 4). */
export function chooseTask(meaning: Meaning, cues: Map<Task, number>, t: MeaningThresholds = DEFAULT_THRESHOLDS): { task: Task; modality: Modality } | Record<string, never> {
  const scores = new Map<Task, number>(meaning.task);
  for (const [task, cue] of cues) scores.set(task, (scores.get(task) ?? 0) + t.cueWeight * Math.min(cue, 4) / 4);
  const best = top(scores);
  return best ? { task: best[0], modality: modalityOf(best[0]) } : {};
}
