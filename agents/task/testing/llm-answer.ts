import type { LlmTaskSpec } from '../llm-task-spec.js';

/**
 * An LLM's answer in the all-fields-present shape the Task agent asks for (structured outputs need
 * every field), with nothing known unless `fields` gives it. For tests that script an LLM's reply.
 */
export function llmAnswer(fields: Partial<LlmTaskSpec>): LlmTaskSpec {
  return {
    decision: 'accept',
    task: 'text-classification',
    modality: 'text',
    labels: null,
    objectives: [],
    constraints: { maxParameters: null, maxModelBytes: null, maxLatencyMs: null },
    serving: { qps: null, latencyP99Ms: null, memoryBytes: null, accelerator: null },
    reasons: ['Understood by the LLM.'],
    ...fields,
  };
}
