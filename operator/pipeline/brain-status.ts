import type { BrainRecord, TokenUsage } from '../../agents/brain/brain.js';
import type { TrainingRequestStatus } from '../api/training-request.js';

type BrainStatus = NonNullable<TrainingRequestStatus['brain']>;

/** status.brain from the Task agent's record: which brain answered, why it fell back, how it read. */
export function brainStatus(record: BrainRecord, tokens: TokenUsage): BrainStatus {
  return {
    kind: record.kind,
    ...(record.model ? { model: record.model } : {}),
    answeredBy: record.answeredBy,
    ...(record.fallbackReason ? { fallbackReason: record.fallbackReason } : {}),
    ...(record.offlineReader ? { offlineReader: record.offlineReader } : {}),
    ...(record.offlineReaderNote ? { offlineReaderNote: record.offlineReaderNote.slice(0, 1024) } : {}),
    ...(record.notes?.length ? { notes: record.notes.slice(0, 20).map((n) => n.slice(0, 1024)) } : {}),
    decisions: [{ agent: 'task', decision: 'task-spec', answeredBy: record.answeredBy, ...(record.fallbackReason ? { fallbackReason: record.fallbackReason } : {}) }],
    tokens,
  };
}

/** One line for people: which brain answered each decision, and why any fell back. */
export function describeBrain(brain: BrainStatus | undefined): string {
  if (!brain) return 'Brain: not consulted yet';
  const who = brain.kind === 'llm' ? `LLM ${brain.model ?? ''}`.trim() : 'offline';
  const decisions = (brain.decisions ?? []).map((d) => `${d.agent}/${d.decision}: ${d.answeredBy}${d.fallbackReason ? ` (fell back: ${d.fallbackReason})` : ''}`);
  const reader = brain.offlineReader ? `; offline reader ${brain.offlineReader}${brain.offlineReaderNote ? ` (${brain.offlineReaderNote})` : ''}` : '';
  return `Brain: ${who}${reader}${decisions.length ? `; ${decisions.join(', ')}` : ''}${brain.notes?.length ? `; notes: ${brain.notes.join(' ')}` : ''}`;
}
