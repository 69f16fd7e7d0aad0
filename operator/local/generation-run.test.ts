import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump as stringify } from 'js-yaml';
import { PNG } from 'pngjs';
import { jobPython } from './serve/python-fixture.js';
import { cli, conditionOf, readStatusFile, REPO, startCli, waitUntil } from './testing/cli.js';

// The paper's image generation task on one machine: a GENERATED style set (examples/brand-style draws
// "spring campaign" posters), LoRA fine-tuning of the tiny from-config diffusion model for a few steps on
// the CPU, a Triton Python-backend model, and `serve` answering prompts with PNGs.
jest.setTimeout(30 * 60 * 1000);

// One core per job: the numbers are per core, as the catalog's, and a busy machine is not oversubscribed.
const ONE_CORE = { TRAINER_AGENT_TORCH_THREADS: '1', OMP_NUM_THREADS: '1' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe('trainer-agent run on an image generation request', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ta-generation-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, 'request.yaml');

  beforeAll(async () => {
    const python = (await jobPython())!;
    execFileSync(python, [join(REPO, 'examples', 'brand-style', 'generate-style-set.py'), '--out', join(dir, 'style'), '--count', '16']);
    writeFileSync(file, stringify({
      apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name: 'posters' },
      spec: {
        requirement: 'Fine-tune an image generator to make product posters in the style of our spring campaign, at most 60 seconds per image.',
        data: [{ name: 'spring', uri: `file://${join(dir, 'style')}`, format: 'imagefolder' }],
        generation: { baseModel: 'tiny', trainingSteps: 8, steps: 4 },
        budget: { maxAttempts: 1 },
      },
    }));
  });

  it('trains on the CPU, goes Ready, and serves PNGs that reproduce the reference image for its seed', async () => {
    const run = await cli(['run', file, '--state-dir', stateDir], REPO, ONE_CORE);
    expect({ code: run.code, tail: run.code === 0 ? '' : run.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
    const status = readStatusFile(stateDir, 'posters');
    expect(status.phase).toBe('Ready');
    expect(status.task).toMatchObject({ task: 'image-generation', serving: { latencyP99Ms: 60_000 } });
    expect(conditionOf(status, 'DataPrepared')!.message).toMatch(/16 style images loaded .* 12 to learn from, 4 held out .* 16 written from file and folder names/);
    const attempt = status.attempts![0]!;
    expect(attempt).toMatchObject({ model: 'diffusion-tiny-lora', state: 'Succeeded', parameters: 23_040 });
    expect(Object.keys(attempt.metrics)).toEqual(['fid-proxy-efficientnet-lite0', 'fid-proxy-efficientnet-lite0-base']);
    expect(attempt.note).toMatch(/Trained 8 steps on cpu x1 .* FID was not computed: no weights were given/);
    expect(status.metric).toMatch(/a proxy, not FID/);
    expect(conditionOf(status, 'Converted')!.message).toMatch(/reproduced the reference image for seed 1000 \(largest pixel difference [0-2],/);
    expect(status.estimate!.reasoning[0]).toMatch(/one request is one image at 4 denoising steps and 32×32 px; measured [\d.]+ s per image/);
    const requestDir = join(stateDir, 'default', 'posters');
    const doc = JSON.parse(readFileSync(join(requestDir, 'api', 'openapi.json'), 'utf8'));
    const example = doc.paths['/v2/models/posters/infer'].post.responses['200'].content['application/json'].example.outputs[0].data[0];
    expect(PNG.sync.read(Buffer.from(example, 'base64'))).toMatchObject({ width: 32, height: 32 });

    const reference = readFileSync(join(requestDir, attempt.artifacts!, 'model', 'reference.png'));
    const manifest = JSON.parse(readFileSync(join(requestDir, attempt.artifacts!, 'model', 'manifest.json'), 'utf8'));
    expect(existsSync(join(requestDir, attempt.artifacts!, 'model', 'unet'))).toBe(false);

    const port = await freePort();
    const serve = startCli(['serve', 'posters', '--state-dir', stateDir, '--port', String(port)], REPO, undefined, ONE_CORE);
    try {
      const url = `http://127.0.0.1:${port}`;
      // Loading the diffusion pipeline takes a while; poll readiness as a client would.
      let ready = false;
      const poll = setInterval(() => void fetch(`${url}/v2/health/ready`).then((r) => (ready = r.ok), () => undefined), 500);
      await waitUntil(() => (ready ? true : undefined), 300_000, 'the served model to be ready').finally(() => clearInterval(poll));
      const body = { inputs: [
        { name: 'prompt', datatype: 'BYTES', shape: [2, 1], data: [manifest.reference.prompt, 'a tube on a mint spring poster with daisies'] },
        { name: 'seed', datatype: 'INT64', shape: [2, 1], data: [manifest.reference.seed, 7] },
        { name: 'steps', datatype: 'INT32', shape: [2, 1], data: [manifest.reference.steps, manifest.reference.steps] },
      ] };
      const answer = await fetch(`${url}/v2/models/posters/infer`, { method: 'POST', body: JSON.stringify(body) });
      expect(answer.status).toBe(200);
      const images = ((await answer.json()) as { outputs: { name: string; shape: number[]; data: string[] }[] }).outputs[0]!;
      expect(images).toMatchObject({ name: 'image', shape: [2, 1] });
      const pngs = images.data.map((b64) => Buffer.from(b64, 'base64'));
      for (const png of pngs) expect(PNG.sync.read(png)).toMatchObject({ width: 32, height: 32 });
      const served = PNG.sync.read(pngs[0]!).data;
      const trained = PNG.sync.read(reference).data;
      const largest = served.reduce((m, v, i) => Math.max(m, Math.abs(v - trained[i]!)), 0);
      // The served artifact (base + LoRA file, another process) reproduces what the training job made for this seed.
      expect(largest).toBeLessThanOrEqual(2);
      const unseeded = await fetch(`${url}/v2/models/posters/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'prompt', datatype: 'BYTES', shape: [1, 1], data: ['a jar'] }] }) });
      expect(PNG.sync.read(Buffer.from(((await unseeded.json()) as { outputs: { data: string[] }[] }).outputs[0]!.data[0]!, 'base64'))).toMatchObject({ width: 32 });
    } finally {
      serve.child.kill('SIGTERM');
      await serve.done;
    }
  });
});
