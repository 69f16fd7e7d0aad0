import type { z } from 'zod';
import type { Brain, Decided, DecisionRequest, TokenUsage } from '../../agents/brain/brain.js';
import { CircuitBreaker } from '../../agents/brain/circuit-breaker.js';
import { OfflineBrain } from '../../agents/brain/offline.js';
import type { TrainingRequest } from '../api/training-request.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterApi } from './client.js';

/** Key of the API key in the Secret when `apiKeySecretRef.key` is not given. */
export const DEFAULT_API_KEY_KEY = 'apiKey';

/**
 * Brains per request: the offline brain unless `spec.llm` names a model, then an LLM brain whose key
 * comes from `spec.llm.apiKeySecretRef` (read with `get` on that one Secret; the value goes only to
 * the LLM client, never to status, events or logs). One circuit breaker per request survives
 * reconciles, so a failing endpoint stops being called.
 *
 * The LLM brain is lazy: the Secret is read and the OpenAI client loaded only when the pipeline
 * actually asks something (it caches answers in status), so a reconcile that thinks nothing costs
 * no Secret read, and an operator without LLM requests never loads the client library.
 */
export class BrainFactory {
  private readonly breakers = new Map<string, CircuitBreaker>();
  constructor(
    private readonly api: Pick<ClusterApi, 'readSecretKey'>,
    private readonly log: Logger,
  ) {}

  brainFor(request: TrainingRequest): Brain {
    const llm = request.spec.llm;
    if (!llm) return new OfflineBrain();
    const { namespace, name } = request.metadata;
    const key = `${namespace}/${name}`;
    let breaker = this.breakers.get(key);
    if (!breaker) this.breakers.set(key, (breaker = new CircuitBreaker()));
    const make = async (): Promise<Brain> => {
      const ref = llm.apiKeySecretRef;
      let apiKey: string | undefined;
      if (ref) {
        try {
          apiKey = await this.api.readSecretKey(namespace, ref.name, ref.key ?? DEFAULT_API_KEY_KEY);
          if (apiKey === undefined) this.log.warn({ namespace, name, secret: ref.name }, 'Found no API key in the Secret; the LLM calls will fail and the offline brain will answer');
        } catch (error) {
          this.log.warn({ namespace, name, secret: ref.name, err: (error as Error).message }, 'Failed to read the LLM Secret');
        }
      }
      const { LlmBrain } = await import('../../agents/brain/llm.js');
      return new LlmBrain({
        model: llm.model,
        ...(llm.baseURL ? { baseURL: llm.baseURL } : {}),
        ...(apiKey ? { apiKey } : {}),
        ...(llm.timeoutSeconds ? { timeoutMs: llm.timeoutSeconds * 1000 } : {}),
        breaker,
        onWarning: (message) => this.log.warn({ namespace, name, stage: 'brain' }, message),
      });
    };
    return new LazyBrain(llm.model, make);
  }

  /** Forget a deleted request's breaker. */
  forget(key: string): void {
    this.breakers.delete(key);
  }
}

/** A brain made on its first decision. */
export class LazyBrain implements Brain {
  readonly kind = 'llm' as const;
  private made: Promise<Brain> | undefined;
  private brain: Brain | undefined;

  constructor(
    readonly model: string,
    private readonly make: () => Promise<Brain>,
  ) {}

  async decide<S extends z.ZodType>(schema: S, request: DecisionRequest, offline: () => z.infer<S>): Promise<Decided<z.infer<S>>> {
    this.made ??= this.make().then((b) => (this.brain = b));
    return (await this.made).decide(schema, request, offline);
  }

  usage(): TokenUsage {
    return this.brain?.usage() ?? { prompt: 0, completion: 0 };
  }
}
