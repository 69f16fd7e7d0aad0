import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root (this file lives in operator/local/serve/). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const JOBS_DIR = join(REPO_ROOT, 'images', 'jobs');

/**
 * The PyTorch job environment's python (images/jobs/requirements-torch.txt), built on first use and
 * cached like the core one; `$TRAINER_AGENT_TORCH_PYTHON` wins.
 */
export async function torchPython(): Promise<string> {
  if (process.env.TRAINER_AGENT_TORCH_PYTHON) return process.env.TRAINER_AGENT_TORCH_PYTHON;
  const { stdout } = await run('bash', [join(JOBS_DIR, 'scripts', 'ensure-venv.sh'), join(JOBS_DIR, 'requirements-torch.txt')], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 });
  return join(stdout.trim().split('\n').pop()!.trim(), 'bin', 'python');
}

/**
 * The Python that runs the job package: `$TRAINER_AGENT_JOB_PYTHON`, else the cached virtualenv from
 * images/jobs/scripts/ensure-venv.sh, else `python3` when it has the job requirements; undefined otherwise.
 */
export async function jobPython(): Promise<string | undefined> {
  if (process.env.TRAINER_AGENT_JOB_PYTHON) return process.env.TRAINER_AGENT_JOB_PYTHON;
  const ensure = join(JOBS_DIR, 'scripts', 'ensure-venv.sh');
  if (existsSync(ensure)) {
    const { stdout } = await run('bash', [ensure], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 1_800_000 });
    const venv = stdout.trim().split('\n').pop()!.trim();
    return join(venv, 'bin', 'python');
  }
  try {
    await run('python3', ['-c', 'import skl2onnx, onnxruntime, sklearn, PIL, joblib'], { timeout: 60_000 });
    return 'python3';
  } catch {
    return undefined;
  }
}

/** Run a module of the job package with PYTHONPATH set; returns stdout. */
export async function runJobModule(python: string, args: string[], timeoutMs = 600_000): Promise<string> {
  const { stdout } = await run(python, ['-m', ...args], {
    cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONPATH: [JOBS_DIR, process.env.PYTHONPATH].filter(Boolean).join(':') },
  });
  return stdout;
}

/** A reference prediction written by the conversion job (the trained model on a held-out row). */
export interface ReferenceRow {
  index: number;
  text?: string;
  image?: string;
  label: string;
  probabilities: number[];
  truth: string | null;
}

/** A converted fixture model: repository, result.json and the training-time predictions. */
export interface ConvertedFixture {
  repositoryDir: string;
  model: string;
  result: Record<string, unknown>;
  reference: ReferenceRow[];
}

/** Train a small model with the fixtures module and convert it with the conversion job (fast benchmark). */
export async function convertedFixture(python: string, dir: string, kind: 'text' | 'image' | 'torch-text' | 'torch-image', model: string,
  extra: Record<string, unknown> = {}, fixtureArgs: string[] = []): Promise<ConvertedFixture> {
  // Training a torch fixture takes a minute on an idle machine, many on a loaded one.
  await runJobModule(python, ['trainer_agent_jobs.convert.fixtures', kind, '--out', dir, ...fixtureArgs], kind.startsWith('torch') ? 3_600_000 : 600_000);
  const spec = {
    modelDir: join(dir, 'train'), dataDir: join(dir, 'data'), modelName: model,
    benchmark: { secondsPerPoint: 0.1, batchSizes: [1, 2], concurrencies: [1, 2], maxRequestsPerPoint: 200 },
    ...extra,
  };
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'convert-spec.json'), JSON.stringify(spec));
  await runJobModule(python, ['trainer_agent_jobs.convert', '--spec', join(dir, 'convert-spec.json'), '--out', join(dir, 'out')], 1_800_000);
  const result = JSON.parse(await readFile(join(dir, 'out', 'result.json'), 'utf8')) as Record<string, unknown>;
  const reference = (await readFile(join(dir, 'out', 'reference-predictions.jsonl'), 'utf8'))
    .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ReferenceRow);
  return { repositoryDir: join(dir, 'out', 'model-repository'), model, result, reference };
}

/**
 * A Python with NVIDIA's HTTP client (`tritonclient[http]`, pinned in tritonclient-requirements.txt),
 * in a virtualenv cached under ~/.cache/trainer-agent keyed by that file's hash; undefined without python3.
 */
export async function tritonClientPython(): Promise<string | undefined> {
  const requirements = join(REPO_ROOT, 'operator', 'local', 'serve', 'tritonclient-requirements.txt');
  const text = await readFile(requirements, 'utf8');
  const { createHash } = await import('node:crypto');
  const { homedir } = await import('node:os');
  const venv = join(homedir(), '.cache', 'trainer-agent', `tritonclient-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  const python = join(venv, 'bin', 'python');
  if (existsSync(python)) return python;
  try {
    await run('python3', ['-m', 'venv', '--clear', `${venv}.tmp`], { timeout: 120_000 });
    await run(join(`${venv}.tmp`, 'bin', 'pip'), ['install', '--quiet', '-r', requirements], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
    const { rename } = await import('node:fs/promises');
    await rename(`${venv}.tmp`, venv);
    return python;
  } catch (error) {
    console.warn(`Could not build the tritonclient virtualenv: ${(error as Error).message}`);
    return undefined;
  }
}
