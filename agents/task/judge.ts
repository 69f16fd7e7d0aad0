import { GENERATION_FEASIBILITY_RULES, type FeasibilityRule } from './generation-feasibility.js';
import type { Decision, TaskSpec } from './task-spec.js';

/** The judge's verdict with reasons a person can read. */
export interface Judgement {
  decision: Decision;
  reasons: string[];
}

/** One rule: when it matches, the request is refused for the stated reason. */
interface Rule {
  id: string;
  matches: (text: string) => boolean;
  reason: string;
}

// Verbs that make a harmful subject acceptable: building a detector or a filter protects people.
const PROTECTIVE = /\b(detect\w*|classif\w*|filter\w*|flag\w*|moderat\w*|identify (and remove|and block)|block\w*|spot\w*|screen\w* (out|for)|prevent\w*|protect\w*|recogni[sz]e (and|to) (remove|block|report)|counter\w*|fight\w*|against|remove|removal|report\w*)\b/;
const PRODUCE = /\b(generat\w*|produc\w*|creat\w*|writ(e|es|ing)|mak(e|es|ing)|compos\w*|spread\w*|post(s|ing)?|send\w*|flood\w*|mass[- ]produc\w*|churn out|automat\w*|craft\w*|design\w*|synthesi[sz]\w*|fabricat\w*)\b/;

const producing = (subject: RegExp) => (text: string) =>
  subject.test(text) && PRODUCE.test(text) && !(PROTECTIVE.test(text) && !/\b(evad\w*|bypass\w*|avoid\w* (detection|filters?)|undetect\w*|get\w* (past|around|through)|slip\w* (past|through)|fool\w*|trick\w*)\b/.test(text));

/** Ethics rules: deception, harassment and hate, discrimination, non-consensual imagery, surveillance, crime. */
export const ETHICS_RULES: Rule[] = [
  {
    id: 'hate-harassment',
    matches: producing(/\b(hate(ful)?|harass\w*|slurs?|threat\w*|bully\w*|insult\w*|abus(e|ive)|demeaning|dehumani[sz]\w*|propaganda|extremis\w*|terroris\w*|radicali[sz]\w*)\b/),
    reason: 'It would produce hateful, harassing or extremist content aimed at people; that harms the people targeted.',
  },
  {
    id: 'impersonation',
    matches: (t) =>
      /\b(deep ?fakes?|voice clon\w*|clon\w* (the |a |our |my |his |her )?(voice|face)|impersonat\w*|pretend(ing)? to be|pose as|face[- ]?swap\w*|mimic\w* (the |a |our )?(voice|ceo|boss|person))\b/.test(t) &&
      !/\b(detect\w*|spot\w*|flag\w*|classif\w*|identify (whether|if)|real or|authenticity check|liveness|anti[- ]spoof\w*)\b/.test(t),
    reason: 'It would impersonate a real person (a deepfake or a cloned voice) to deceive others; that enables fraud and breaks consent.',
  },
  {
    id: 'non-consensual-imagery',
    matches: (t) =>
      /\b(nude|naked|undress\w*|nsfw|explicit|sexual\w*|porn\w*|lingerie)\b/.test(t) &&
      /\b(of (my |our |a |the )?(ex|classmates?|coworkers?|colleagues?|neighbou?rs?|celebrit\w*|girls?|women|woman|people|person|students?|minors?|children|kids|someone|anyone)|from (their |her |his )?(photos?|pictures?|selfies?|instagram|profile)|real (people|persons?|women)|without (their )?consent|secretly)\b/.test(t) &&
      !/\b(detect\w*|filter\w*|moderat\w*|block\w*|flag\w*|remov\w*)\b/.test(t),
    reason: 'It would create sexual or intimate imagery of real people without their consent.',
  },
  {
    id: 'minors-sexual',
    matches: (t) => /\b(child|children|minors?|kids?|underage|teen\w*)\b/.test(t) && /\b(sexual\w*|nude|naked|explicit|porn\w*)\b/.test(t) && !/\b(detect\w*|filter\w*|report\w*|block\w*|moderat\w*|protect\w*)\b/.test(t),
    reason: 'It involves sexual content with minors.',
  },
  {
    id: 'covert-surveillance',
    matches: (t) =>
      (/\b(secret(ly)?|covert(ly)?|without (their |them |the )?(knowing|knowledge|consent)|hidden cameras?|spy(ing)? on|stalk\w*|track\w* (my |an? )?(ex|partner|wife|husband|girlfriend|boyfriend))\b/.test(t) &&
        /\b(track\w*|monitor\w*|surveil\w*|record\w*|identif\w*|recogni[sz]\w*|photograph\w*|follow\w*|locat\w*|watch\w*|spy\w*|stalk\w*)\b/.test(t)) ||
      /\b(identify|recogni[sz]e|track)\b[^.]*\b(protesters?|demonstrators?|activists?|journalists?|dissidents?)\b/.test(t) ||
      /\bface recognition\b[^.]*\b(crowds?|strangers|passers?-?by|public)\b[^.]*\b(without|covert|secret)/.test(t),
    reason: 'It would surveil or identify people without their knowledge or consent.',
  },
  {
    id: 'discrimination',
    matches: (t) =>
      /\b(race|racial|ethnicit\w*|religio\w*|gender|sex|sexual orientation|gay|lesbian|transgender|disabilit\w*|pregnan\w*|age|nationality|skin colou?r|caste|muslims?|jews?|jewish|christians?|women|woman|female|immigrants?|black people|asians?)\b/.test(t) &&
      /\b(reject\w*|screen\w* out|filter\w* out|exclud\w*|deny|denies|denied|rank\w* (lower|down)|penali[sz]\w*|avoid hiring|not hire|refuse\w*|disqualif\w*|predict\w* (whether|if|who|which)[^.]*\b(gay|lesbian|transgender|sexual orientation|religio\w*|criminal))\b/.test(t) &&
      !/\b(audit\w*|bias (detection|mitigation|testing)|fairness|detect\w* (bias|discrimination)|protect\w*|against discrimination)\b/.test(t),
    reason: 'It would treat people differently because of a protected characteristic (race, religion, gender, age, orientation, disability, nationality).',
  },
  {
    id: 'crime',
    matches: (t) =>
      producing(/\b(malware|ransomware|viruses?|keyloggers?|exploits?|phishing|scam\w*|fake\b[^.]{0,24}\b(reviews?|ids?|invoices?|documents?|passports?|news|accounts?|testimonials?)|counterfeit\w*|disinformation|misinformation|propaganda|spam campaigns?|fraudulent)\b/)(t) ||
      /\b(bypass\w*|crack\w*|break\w*|defeat\w*|solv\w*)\b[^.]*\b(captchas?|drm|paywalls?|licen[cs]e checks?|2fa|authentication)\b/.test(t) ||
      /\b(launder\w*|evade (taxes|sanctions|law enforcement|detection)|synthesi[sz]\w* (drugs?|explosives?|nerve agents?|weapons?)|bioweapons?|chemical weapons?|explosives? (design|recipes?)|steal\w*|stolen (cards?|credentials?|passwords?))\b/.test(t) ||
      /\b(authori[sz]e|approve|trigger)\b[^.]*\b(bank )?(transfers?|payments?|wire)\b[^.]*\b(clon\w*|fake|deep ?fake|impersonat\w*)\b/.test(t),
    reason: 'It would help commit a crime (fraud, malware, theft, weapons or defeating security controls).',
  },
];


const perfectTarget = (spec: Pick<TaskSpec, 'objectives'>) =>
  spec.objectives.some((o) => (o.op === '>=' && ['accuracy', 'f1', 'precision', 'recall', 'auc', 'map', 'iou', 'exact-match'].includes(o.metric) && o.value >= 0.9995) || (o.op === '<=' && o.value <= 0));

const demanding = (spec: Pick<TaskSpec, 'objectives'>) =>
  spec.objectives.some((o) => (o.op === '>=' && o.value >= 0.8 && o.value <= 1) || (o.op === '<=' && o.value <= 0.1));

/** Feasibility rules: guaranteed-perfect or physically impossible targets, no data and no way to get labels. */
export const FEASIBILITY_RULES: FeasibilityRule[] = [
  {
    id: 'perfect-or-guaranteed',
    matches: (t, spec) =>
      perfectTarget(spec) ||
      /\b(guarantee\w*|never (be )?wrong|never (makes?|make) (a )?mistakes?|always (be )?(right|correct)|zero (errors?|mistakes?|false (positives|negatives))|perfect (accuracy|predictions?|recall|precision)|100 ?% (accurate|accuracy|correct|certain|of the time|precision|recall))\b/.test(t),
    reason: 'It asks for a guaranteed or perfect result; no model trained on finite, noisy data can guarantee that, and the locked test set could not prove it.',
  },
  {
    id: 'unpredictable-target',
    matches: (t, spec) =>
      /\b(lottery|lotto|roulette|dice rolls?|coin (flips?|toss\w*)|slot machines?)\b/.test(t) && /\b(predict\w*|forecast\w*|guess\w*|pick\w*)\b/.test(t) ||
      /\b(stock|share|crypto\w*|bitcoin|forex|exchange rate|casino|sports? (bets?|betting))\b/.test(t) &&
      /\b(predict\w*|forecast\w*|guess\w*|pick\w*)\b/.test(t) &&
      (demanding(spec) || /\b(every (day|time|draw)|guarantee\w*|always|sure[- ]?fire|certain)\b/.test(t)),
    reason: 'Markets and games of chance are close to random at the horizon asked; a high, dependable hit rate is not attainable and would mislead.',
  },
  {
    id: 'no-data-no-labels',
    matches: (t, spec) =>
      /\b(no (labell?ed |annotated |training )?(data|dataset|examples|labels)|without (any )?(labell?ed )?(data|labels|examples)|no labell?ed data|nothing labell?ed|there is no data)\b/.test(t) &&
      /\b(nobody|no one|no-one|cannot|can't|can not|unable to|won't|no budget to|no way to|not possible to|impossible to)\b[^.]*\b(annotat\w*|label\w*|collect\w*|provide\w*|get data)\b/.test(t) &&
      (demanding(spec) || spec.objectives.length > 0),
    reason: 'There is no labelled data and no way to get labels, yet the target is demanding; without examples to learn from or to test on, the target cannot be met or even verified.',
  },
  {
    id: 'impossible-latency',
    matches: (_t, spec) => spec.serving.latencyP99Ms !== undefined && spec.serving.latencyP99Ms < 0.001,
    reason: 'A latency under one microsecond is below what a network round trip or a model call can take.',
  },
  {
    id: 'llm-in-tiny-memory',
    matches: (t, spec) => {
      // At 4 bits a parameter takes half a byte: a model of the stated size cannot fit less than that.
      const required = minParameters(t);
      const room = Math.min(spec.serving.memoryBytes ?? Infinity, spec.constraints.maxModelBytes ?? Infinity);
      return required !== undefined && room < required * 0.5;
    },
    reason: 'The model size the request names cannot fit the memory or file size it allows, even at 4 bits a parameter.',
  },
  ...GENERATION_FEASIBILITY_RULES,
];

/** A required minimum parameter count ("at least 7B parameters", "a 70B model"), when stated. */
function minParameters(text: string): number | undefined {
  const m = /\b(at least|minimum of|no fewer than|a|an)\s+(\d+(?:\.\d+)?)\s?(b|billion|m|million)\b[- ]?(parameters?|params?|model|llm)\b/.exec(text);
  if (!m) return undefined;
  return Number(m[2]) * (/^b/.test(m[3]!) ? 1e9 : 1e6);
}

/**
 * Judge a requirement: refuse unethical requests first (no target makes them acceptable), then
 * infeasible ones; otherwise accept. `text` is the normalised, lower-cased requirement.
 */
export function judge(text: string, spec: Pick<TaskSpec, 'objectives' | 'constraints' | 'serving' | 'task'>): Judgement {
  const unethical = ETHICS_RULES.filter((r) => r.matches(text));
  if (unethical.length > 0) {
    return { decision: 'reject-unethical', reasons: [...new Set(unethical.map((r) => r.reason))] };
  }
  const infeasible = FEASIBILITY_RULES.filter((r) => r.reason && r.matches(text, spec));
  if (infeasible.length > 0) {
    return { decision: 'reject-infeasible', reasons: infeasible.map((r) => r.reason) };
  }
  return { decision: 'accept', reasons: [] };
}
