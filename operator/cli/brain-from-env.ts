import type { Brain } from '../../agents/brain/brain.js';
import { LlmBrain } from '../../agents/brain/llm.js';
import { OfflineBrain } from '../../agents/brain/offline.js';

/** LLM settings a command reads from its environment; values are never printed. */
export interface LlmEnvironment {
  TRAINER_AGENT_LLM_MODEL?: string;
  TRAINER_AGENT_LLM_BASE_URL?: string;
  TRAINER_AGENT_LLM_API_KEY?: string;
  OPENAI_API_KEY?: string;
  TRAINER_AGENT_LLM_TIMEOUT_MS?: string;
}

/** The offline brain unless a model is configured, then an LLM brain with the key from the environment. */
export function brainFromEnvironment(env: LlmEnvironment, warn: (line: string) => void): Brain {
  const model = env.TRAINER_AGENT_LLM_MODEL;
  if (!model) return new OfflineBrain();
  return new LlmBrain({
    model,
    baseURL: env.TRAINER_AGENT_LLM_BASE_URL,
    apiKey: env.TRAINER_AGENT_LLM_API_KEY ?? env.OPENAI_API_KEY,
    timeoutMs: env.TRAINER_AGENT_LLM_TIMEOUT_MS ? Number(env.TRAINER_AGENT_LLM_TIMEOUT_MS) : undefined,
    onWarning: warn,
  });
}
