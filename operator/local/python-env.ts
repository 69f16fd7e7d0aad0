import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { JOBS_PACKAGE_DIR } from './jobs.js';

/**
 * The job virtualenv's python, created on first use and cached under ~/.cache/trainer-agent keyed
 * by the requirements' hash (images/jobs/scripts/ensure-venv.sh does the work).
 */
export function ensureJobPython(log: (line: string) => void): string {
  log('Preparing the Python environment for jobs (cached after the first run)...');
  const venv = execFileSync('bash', [join(JOBS_PACKAGE_DIR, 'scripts', 'ensure-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return join(venv, 'bin', 'python');
}
