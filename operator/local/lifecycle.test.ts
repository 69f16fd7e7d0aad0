import { jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { dump } from 'js-yaml';
import { readRecord } from './lock.js';
import { convertedFixture, jobPython } from './serve/python-fixture.js';
import { writeStatus } from './state.js';
import { cli, readStatusFile, REPO, startCli, waitUntil } from './testing/cli.js';

// The local run lifecycle as a user lives it: real `trainer-agent` processes, real jobs and servers.
jest.setTimeout(10 * 60 * 1000);

const python = await jobPython();
const promotions = join(REPO, 'examples', 'promotions', 'data');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A Node older than 24 on PATH (outside node_modules), with which the CLI re-executes itself through its wrapper. */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => d && !d.includes('node_modules'))) {
    const candidate = join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const major = Number(spawnSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim());
    if (major > 0 && major < 24) return candidate;
  }
  return undefined;
}

function requestFile(name: string, spec: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), `life-${name}-`));
  const file = join(dir, 'request.yaml');
  writeFileSync(file, dump({ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name }, spec }));
  return { dir, file, stateDir: join(dir, 'state') };
}

beforeAll(() => {
  if (!existsSync(join(promotions, 'test-400.jsonl'))) execFileSync(process.execPath, [join(REPO, 'examples', 'promotions', 'generate-data.mjs')], { stdio: 'inherit' });
});

describe('local run lifecycle', () => {
  it('a FIFO as a data file is refused at once, not read forever', async () => {
    const s = requestFile('fifo', { requirement: 'Classify product promotions as benefit or no-benefit with accuracy at least 80%.', data: [{ name: 'promos', uri: 'file:promos.jsonl', format: 'jsonl' }], serving: { enabled: false } });
    execFileSync('mkfifo', [join(s.dir, 'promos.jsonl')]);
    const started = Date.now();
    const result = await cli(['run', s.file, '--state-dir', s.stateDir]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.code).toBe(1);
    const status = readStatusFile(s.stateDir, 'fifo');
    expect(status.conditions?.find((c) => c.type === 'DataPrepared')).toMatchObject({ reason: 'DataUnavailable', message: expect.stringMatching(/named pipe \(FIFO\), not a regular file/) });
    expect(existsSync(join(s.stateDir, 'default', 'fifo', 'run.lock'))).toBe(false);
  });

  it('kill -9 of the process the user started ends the whole run tree, and nothing blocks what comes next', async () => {
    const s = requestFile('killed', { requirement: 'Classify product promotions as benefit or no-benefit with accuracy at least 80%.', data: [{ name: 'promos', uri: `file://${join(promotions, 'test-400.jsonl')}`, format: 'jsonl' }], serving: { enabled: false } });
    const dir = join(s.stateDir, 'default', 'killed');
    // Through the wrapper when this machine has an older Node (as `trainer-agent` on PATH runs there), else directly.
    const node = olderNode();
    const user = node ? startCli(['run', s.file, '--state-dir', s.stateDir], REPO, node) : startCli(['run', s.file, '--state-dir', s.stateDir]);
    const job = await waitUntil(() => {
      const jobs = join(dir, 'jobs');
      if (!existsSync(jobs)) return undefined;
      for (const name of readdirSync(jobs)) {
        const state = join(jobs, name, 'job-state.json');
        if (existsSync(state)) {
          const parsed = JSON.parse(readFileSync(state, 'utf8')) as { state: string; pid?: number };
          if (parsed.state === 'Running' && parsed.pid) return parsed.pid;
        }
      }
      return undefined;
    }, 5 * 60_000, 'a job to start');
    const runner = readRecord(join(dir, 'run.lock'))!.pid;
    if (node) expect(runner).not.toBe(user.child.pid);
    user.child.kill('SIGKILL');
    // Promptly: a run left behind would carry on through training on its own.
    await waitUntil(() => (!alive(runner) && !alive(job) ? true : undefined), 3_000, 'the run and its job to stop');
    await user.done;
    const deleted = await cli(['delete', 'killed', '--state-dir', s.stateDir]);
    expect(deleted.stderr).toMatch(/Deleted default\/killed/);
    expect(deleted.code).toBe(0);
  });

  (python ? describe : describe.skip)('with a converted model', () => {
    let stateDir: string;
    let dir: string;
    beforeAll(async () => {
      stateDir = join(mkdtempSync(join(tmpdir(), 'life-serve-')), 'state');
      dir = join(stateDir, 'default', 'spam');
      const convertDir = join(dir, 'jobs', 'spam-convert-1');
      mkdirSync(convertDir, { recursive: true });
      const fixture = await convertedFixture(python!, convertDir, 'text', 'spam');
      const now = new Date().toISOString();
      // Written by the local backend's own writer, with the absolute paths the pipeline produces.
      writeStatus(dir, {
        phase: 'Ready',
        conditions: [{ type: 'Converted', status: 'True', reason: 'Converted', message: 'fp32 ONNX', lastTransitionTime: now }],
        model: { name: 'spam', metrics: {}, uri: fixture.repositoryDir },
        apiDoc: { uri: join(dir, 'api', 'openapi.json'), summary: 'spam' },
        endpoint: { url: 'http://127.0.0.1:8000/v2/models/spam', protocol: 'kserve-v2', model: 'spam' },
      });
    }, 10 * 60_000);

    const serve = async (state: string) => {
      const started = startCli(['serve', 'spam', '--state-dir', state, '--port', '0']);
      let stderr = '';
      started.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const url = await waitUntil(() => /Serving spam at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1], 60_000, 'serve to start');
      return { ...started, url };
    };
    const infer = (url: string) => fetch(`${url}/v2/models/spam/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 1], data: ['win a free cruise now'] }] }),
    });

    it('keeps status.json free of absolute paths into its own folder', () => {
      const text = readFileSync(join(dir, 'status.json'), 'utf8');
      expect(text).not.toContain(dir);
      expect(JSON.parse(text).model.uri).toBe('jobs/spam-convert-1/out/model-repository');
    });

    it('a copied state directory serves its own model, not the original', async () => {
      const copy = join(mkdtempSync(join(tmpdir(), 'life-copy-')), 'state');
      cpSync(stateDir, copy, { recursive: true });
      // Hide the original's model: a server that still read it could not start.
      const original = join(dir, 'jobs', 'spam-convert-1', 'out', 'model-repository');
      renameSync(original, `${original}.away`);
      try {
        const server = await serve(copy);
        expect((await infer(server.url)).status).toBe(200);
        server.child.kill('SIGTERM');
        expect((await server.done).code).toBe(0);
      } finally {
        renameSync(`${original}.away`, original);
      }
    });

    it('delete stops a serve of the request before removing it', async () => {
      const server = await serve(stateDir);
      expect((await infer(server.url)).status).toBe(200);
      expect(readdirSync(dir).filter((f) => f.startsWith('serve-'))).toHaveLength(1);
      const deleted = await cli(['delete', 'spam', '--state-dir', stateDir]);
      expect(deleted.code).toBe(0);
      expect(deleted.stderr).toMatch(new RegExp(`Stopped trainer-agent serve \\(pid ${server.child.pid}, ${server.url.replace(/\./g, '\\.')}\\)`));
      expect((await server.done).code).toBe(0);
      await expect(infer(server.url)).rejects.toThrow();
      expect(existsSync(dir)).toBe(false);
    });
  });
});
