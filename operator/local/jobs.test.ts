import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processesOption } from '../cli/run.js';
import { JOBS_PACKAGE_DIR, localJobArgs, runLocalJob, type JobProgress } from './jobs.js';
import { ensureJobPython } from './python-env.js';

jest.setTimeout(15 * 60 * 1000);

describe('local jobs under torchrun (trainer-agent run --processes N)', () => {
  it.each([
    { name: 'one process: python -m, as always', job: { kind: 'train' as const, runtime: 'torch' as const }, processes: 1, head: ['-m', 'trainer_agent_jobs.train'] },
    { name: 'a torch train job with 2 processes: torchrun --standalone on this machine', job: { kind: 'train' as const, runtime: 'torch' as const }, processes: 2, head: ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '-m', 'trainer_agent_jobs.train'] },
    { name: 'scikit-learn trains in one process whatever is asked', job: { kind: 'train' as const, runtime: 'sklearn' as const }, processes: 4, head: ['-m', 'trainer_agent_jobs.train'] },
    { name: 'data and convert jobs run in one process', job: { kind: 'data' as const, runtime: 'torch' as const }, processes: 4, head: ['-m', 'trainer_agent_jobs.data'] },
  ])('$name', ({ job, processes, head }) => {
    const args = localJobArgs(job, '/s.json', '/out', '/t', processes);
    expect(args.slice(0, head.length)).toEqual(head);
    expect(args.slice(head.length)).toEqual(['--spec', '/s.json', '--out', '/out', '--termination-log', '/t']);
  });

  it.each([
    { text: '1', ok: 1 },
    { text: '16', ok: 16 },
    { text: '0', ok: undefined },
    { text: '17', ok: undefined },
    { text: 'two', ok: undefined },
  ])('--processes $text', ({ text, ok }) => {
    if (ok === undefined) expect(() => processesOption(text)).toThrow(/--processes must be a whole number from 1 to 16/);
    else expect(processesOption(text)).toBe(ok);
  });

  it('trains a torch model in two local gloo processes: rank 0 reports progress and writes the result', async () => {
    const python = ensureJobPython('torch', () => undefined);
    const dir = mkdtempSync(join(tmpdir(), 'ta-local-ddp-'));
    execFileSync(python, ['-c', ['from pathlib import Path', 'from sklearn.datasets import load_digits', 'from conftest import write_digits, shuffled_indices', 'target = load_digits().target',
      `write_digits(Path(${JSON.stringify(join(dir, 'digits'))}), [i for i in shuffled_indices(1797, 3) if target[i] < 3][:150])`].join('\n')], { cwd: JOBS_PACKAGE_DIR });
    const data = await runLocalJob({ name: 'digits-data', kind: 'data', outDir: join(dir, 'data'), runtime: 'torch',
      spec: { task: 'image-classification', modality: 'image', seed: 0, operations: [], evaluation: { minHoldoutRows: 20 }, sources: [{ name: 'digits', uri: `file://${join(dir, 'digits')}`, format: 'imagefolder' }] } }, python, () => undefined);
    expect(data.state).toBe('Succeeded');
    const progress: JobProgress[] = [];
    const train = await runLocalJob({ name: 'digits-train', kind: 'train', outDir: join(dir, 'train'), runtime: 'torch', attempt: 1,
      spec: { task: 'image-classification', modality: 'image', dataDir: join(dir, 'data'), seed: 0, learningCurve: false,
        model: { id: 'image-cnn-small', family: 'torch-image-timm', hyperparameters: { architecture: 'test_resnet', epochs: 3, batchSize: 16, learningRate: 0.003 } } } },
    python, (p) => progress.push(p), { processes: 2 });
    expect(train).toMatchObject({ state: 'Succeeded', result: { training: { processes: 2, framework: 'torch' } } });
    expect(progress.filter((p) => p.stage === 'train').length).toBeGreaterThan(0);
  });
});
