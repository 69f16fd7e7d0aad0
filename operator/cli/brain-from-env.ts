import type { Brain } from '../../agents/brain/brain.js';
import { CircuitBreaker } from '../../agents/brain/circuit-breaker.js';
import { LlmBrain } from '../../agents/brain/llm.js';
import { OfflineBrain } from '../../agents/brain/offline.js';
import { UsageError } from './args.js';

/** LLM settings a command reads from its environment; values are never printed. */
export interface LlmEnvironment {
  TRAINER_AGENT_LLM_MODEL?: string;
  TRAINER_AGENT_LLM_BASE_URL?: string;
  TRAINER_AGENT_LLM_API_KEY?: string;
  OPENAI_API_KEY?: string;
  TRAINER_AGENT_LLM_TIMEOUT_MS?: string;
  TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS?: string;
  TRAINER_AGENT_LLM_MAX_TOKENS?: string;
  TRAINER_AGENT_LLM_RESPONSE_FORMAT?: string;
}

/** A whole, positive number from the environment, or a usage error naming the variable ("30s" is not 30 000 ms). */
export function positiveInteger(name: string, raw: string | undefined, max: number): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`${name} must be a whole number between 1 and ${max} (got "${raw.slice(0, 40)}")${name.endsWith('_MS') ? '; it is in milliseconds: 30 seconds is 30000' : ''}`);
  }
  return Number(raw);
}

/** The offline brain unless a model is configured, then an LLM brain with the key from the environment. */
export function brainFromEnvironment(env: LlmEnvironment, warn: (line: string) => void): Brain {
  const model = env.TRAINER_AGENT_LLM_MODEL;
  if (!model) return new OfflineBrain();
  const timeoutMs = positiveInteger('TRAINER_AGENT_LLM_TIMEOUT_MS', env.TRAINER_AGENT_LLM_TIMEOUT_MS, 3_600_000);
  const requestTimeoutMs = positiveInteger('TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS', env.TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS, 7_200_000);
  const maxTokens = positiveInteger('TRAINER_AGENT_LLM_MAX_TOKENS', env.TRAINER_AGENT_LLM_MAX_TOKENS, 32_768);
  const format = env.TRAINER_AGENT_LLM_RESPONSE_FORMAT;
  if (format !== undefined && !['auto', 'json_schema', 'json_object', 'prompt'].includes(format)) {
    throw new UsageError(`TRAINER_AGENT_LLM_RESPONSE_FORMAT must be auto, json_schema, json_object or prompt (got "${format.slice(0, 40)}")`);
  }
  return new LlmBrain({
    model,
    baseURL: env.TRAINER_AGENT_LLM_BASE_URL,
    apiKey: env.TRAINER_AGENT_LLM_API_KEY ?? env.OPENAI_API_KEY,
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    ...(maxTokens ? { maxTokens } : {}),
    ...(format ? { responseFormat: format as 'auto' } : {}),
    // One batch is one run: after three failures in a row stop calling for a minute, and say so.
    breaker: new CircuitBreaker(3, 60_000),
    onWarning: warn,
  });
}
