import { LlmBrain } from '../../agents/brain/llm.js';
import { OfflineBrain } from '../../agents/brain/offline.js';
import { UsageError } from './args.js';
import { brainFromEnvironment } from './brain-from-env.js';

const warn = () => {};

describe('brainFromEnvironment', () => {
  it('is the offline brain without a model', () => {
    expect(brainFromEnvironment({}, warn)).toBeInstanceOf(OfflineBrain);
  });

  it('is an LLM brain with a model and whole-number settings', () => {
    const brain = brainFromEnvironment({ TRAINER_AGENT_LLM_MODEL: 'm', TRAINER_AGENT_LLM_TIMEOUT_MS: '30000', TRAINER_AGENT_LLM_MAX_TOKENS: '512', TRAINER_AGENT_LLM_RESPONSE_FORMAT: 'json_object' }, warn);
    expect(brain).toBeInstanceOf(LlmBrain);
    expect((brain as LlmBrain).responseFormat).toBe('json_object');
  });

  it.each([
    { name: 'TRAINER_AGENT_LLM_TIMEOUT_MS', value: '30s', message: /TRAINER_AGENT_LLM_TIMEOUT_MS must be a whole number .* \(got "30s"\); it is in milliseconds: 30 seconds is 30000/ },
    { name: 'TRAINER_AGENT_LLM_TIMEOUT_MS', value: '0', message: /between 1 and/ },
    { name: 'TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS', value: '1.5', message: /TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS must be a whole number/ },
    { name: 'TRAINER_AGENT_LLM_MAX_TOKENS', value: 'lots', message: /TRAINER_AGENT_LLM_MAX_TOKENS must be a whole number/ },
    { name: 'TRAINER_AGENT_LLM_RESPONSE_FORMAT', value: 'xml', message: /must be auto, json_schema, json_object or prompt/ },
  ])('rejects $name=$value with a usage error instead of guessing', ({ name, value, message }) => {
    expect(() => brainFromEnvironment({ TRAINER_AGENT_LLM_MODEL: 'm', [name]: value }, warn)).toThrow(UsageError);
    expect(() => brainFromEnvironment({ TRAINER_AGENT_LLM_MODEL: 'm', [name]: value }, warn)).toThrow(message);
  });
});
