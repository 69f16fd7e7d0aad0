import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Framework } from '../../agents/model/catalog.js';
import { JOBS_PACKAGE_DIR } from './jobs.js';

/** Requirements file of each job environment (images/jobs/). */
const REQUIREMENTS: Record<Framework, string> = {
  sklearn: 'requirements.txt',
  torch: 'requirements-torch.txt',
};

/**
 * Frameworks local training jobs may use. PyTorch is on unless `TRAINER_AGENT_TORCH=off`: its
 * environment is built the first time a job needs it (the default Linux wheel brings the CUDA
 * libraries: several GB, minutes), and cached like the core one.
 */
export function localFrameworks(env: NodeJS.ProcessEnv = process.env): Framework[] {
  return (env.TRAINER_AGENT_TORCH ?? '').toLowerCase() === 'off' ? ['sklearn'] : ['sklearn', 'torch'];
}

/**
 * The job virtualenv's python for a runtime, created on first use and cached under
 * ~/.cache/trainer-agent keyed by the requirements' hash (images/jobs/scripts/ensure-venv.sh does the work).
 */
export function ensureJobPython(runtime: Framework, log: (line: string) => void): string {
  log(runtime === 'torch'
    ? 'Preparing the PyTorch environment for jobs (the first time it downloads torch with its CUDA libraries: several GB, a few minutes; cached after that)...'
    : 'Preparing the Python environment for jobs (cached after the first run)...');
  const script = join(JOBS_PACKAGE_DIR, 'scripts', 'ensure-venv.sh');
  const venv = execFileSync('bash', [script, join(JOBS_PACKAGE_DIR, REQUIREMENTS[runtime])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) throw new Error(`the ${runtime} job environment at ${venv} has no python`);
  return python;
}
