import type { z } from 'zod';
import type { Brain, Decided, DecisionRequest } from './brain.js';

/** The deterministic brain: every decision is the agent's own offline rule. */
export class OfflineBrain implements Brain {
  readonly kind = 'offline' as const;

  async decide<S extends z.ZodType>(schema: S, _request: DecisionRequest, offline: () => z.infer<S>): Promise<Decided<z.infer<S>>> {
    return { value: schema.parse(offline()), brain: 'offline' };
  }

  usage() {
    return { prompt: 0, completion: 0 };
  }
}
