import { z } from 'zod';

/** Who speaks in the conversation: the user or one of the four agents. */
export const Speaker = z.enum(['user', 'task', 'data', 'model', 'server']);
export type Speaker = z.infer<typeof Speaker>;

/** One turn of the conversation kept in status (capped). */
export const ConversationTurn = z.object({
  from: Speaker,
  to: Speaker.optional(),
  text: z.string().max(4096),
});
export type ConversationTurn = z.infer<typeof ConversationTurn>;

/** The most turns kept; older ones are dropped first so status stays small. */
export const CONVERSATION_CAP = 100;

/**
 * An agent's memory: the request's conversation plus the messages agents sent each other.
 * Immutable: `remember` returns a new memory so pipeline steps stay pure.
 */
export interface Memory {
  readonly turns: readonly ConversationTurn[];
}

/** Memory seeded from what status already holds. */
export function memoryFrom(turns: readonly ConversationTurn[] = []): Memory {
  return { turns: turns.slice(-CONVERSATION_CAP) };
}

/** Append a turn unless the last turn already says exactly that (reconciles repeat). */
export function remember(memory: Memory, turn: ConversationTurn): Memory {
  const last = memory.turns.at(-1);
  if (last && last.from === turn.from && last.to === turn.to && last.text === turn.text) return memory;
  return { turns: [...memory.turns, { ...turn, text: turn.text.slice(0, 4096) }].slice(-CONVERSATION_CAP) };
}

/** What the user said, in order. */
export function userTurns(memory: Memory): string[] {
  return memory.turns.filter((t) => t.from === 'user').map((t) => t.text);
}
