import { parsePbtxt, PbtxtError } from './pbtxt.js';
import { readModelConfig } from './model-config.js';

const GENERATOR = `name: "posters"
backend: "python"
max_batch_size: 4
input [
  { name: "prompt" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } },
  { name: "seed" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } optional: true }
]
output [ { name: "image" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } } ]
instance_group [ { count: 2 kind: KIND_CPU } ]
dynamic_batching { max_queue_delay_microseconds: 100000 }
# a comment
parameters: { key: "TRAINER_AGENT_RUNTIME" value: { string_value: "torch" } }
`;

describe('parsePbtxt', () => {
  it.each([
    { name: 'scalars, repeated fields and nested messages', text: 'a: 1 b: "x" a: 2 c { d: true e: TYPE_FP32 }', want: { a: [1, 2], b: ['x'], c: [{ d: [true], e: ['TYPE_FP32'] }] } },
    { name: 'lists of numbers and of messages', text: 'dims: [ -1, 3 ] m [ { x: 1 }, { x: 2 } ]', want: { dims: [-1, 3], m: [{ x: [1] }, { x: [2] }] } },
    { name: 'escapes in strings and angle-bracket messages', text: 'n: "a\\"b" o < p: 1.5e3 >', want: { n: ['a"b'], o: [{ p: [1500] }] } },
  ])('$name', ({ text, want }) => {
    expect(parsePbtxt(text)).toEqual(want);
  });

  it.each(['a: {', 'a: ]', '{ }', 'a: "x" }', 'a: @'])('refuses %j', (text) => {
    expect(() => parsePbtxt(text)).toThrow(PbtxtError);
  });
});

describe('readModelConfig', () => {
  it('reads what serving needs and the JSON a Python model gets, as Triton gives it', () => {
    const config = readModelConfig(GENERATOR);
    expect(config).toMatchObject({
      name: 'posters', backend: 'python', maxBatchSize: 4, instances: 2, kind: 'KIND_CPU', queueDelayUs: 100_000,
      parameters: { TRAINER_AGENT_RUNTIME: 'torch' },
      inputs: [{ name: 'prompt', datatype: 'BYTES', dims: [1], reshape: [], optional: false }, { name: 'seed', datatype: 'INT64', optional: true }],
      outputs: [{ name: 'image', datatype: 'BYTES' }],
    });
    expect(config.json).toMatchObject({
      name: 'posters', max_batch_size: 4,
      input: [{ name: 'prompt', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } }, { name: 'seed', optional: true }],
      output: [{ name: 'image' }], instance_group: [{ count: 2, kind: 'KIND_CPU' }],
      parameters: { TRAINER_AGENT_RUNTIME: { string_value: 'torch' } },
    });
  });

  it('refuses a data type the server cannot carry', () => {
    expect(() => readModelConfig('name: "m" input [ { name: "x" data_type: TYPE_BF16 dims: [ 1 ] } ]')).toThrow(/TYPE_BF16 of x is not supported/);
  });
});
