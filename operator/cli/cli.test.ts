import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { thisProcess } from '../local/lock.js';
import { main } from './main.js';

/** Run the CLI in this process; returns the exit code and what it wrote. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * A state directory with one request (default/victim) and, beside it, a folder that must survive
 * whatever the commands are asked to do.
 */
function world() {
  const root = mkdtempSync(join(tmpdir(), 'cli-'));
  const stateDir = join(root, 'state');
  const victim = join(stateDir, 'default', 'victim');
  mkdirSync(victim, { recursive: true });
  writeFileSync(join(victim, 'status.json'), JSON.stringify({ phase: 'AwaitingInput' }));
  writeFileSync(join(victim, 'events.jsonl'), '{"reason":"Parsed"}\n');
  const outside = join(root, 'outside');
  mkdirSync(join(outside, 'victim'), { recursive: true });
  writeFileSync(join(outside, 'victim', 'precious.txt'), 'keep me');
  return { root, stateDir, victim, outside };
}

describe('every command checks names and namespaces, and stays inside the state directory', () => {
  it.each([
    { name: 'delete ..', args: ['delete', '..'], error: /invalid name "\.\."/ },
    { name: "delete ''", args: ['delete', ''], error: /invalid name "": must not be empty/ },
    { name: 'delete victim -n ..', args: ['delete', 'victim', '-n', '..'], error: /invalid namespace "\.\."/ },
    { name: 'delete victim -n ../outside', args: ['delete', 'victim', '-n', '../outside'], error: /invalid namespace/ },
    { name: 'delete with a slash in the name', args: ['delete', 'default/victim'], error: /invalid name/ },
    { name: 'delete an upper-case name', args: ['delete', 'Victim'], error: /lowercase RFC 1123 label/ },
    { name: 'delete a 64-character name', args: ['delete', 'a'.repeat(64)], error: /no more than 63 characters/ },
    { name: 'logs ..', args: ['logs', '..'], error: /invalid name/ },
    { name: 'logs victim -n ..', args: ['logs', 'victim', '-n', '..'], error: /invalid namespace/ },
    { name: 'status ..', args: ['status', '..'], error: /invalid name/ },
    { name: "status '' (not a listing)", args: ['status', ''], error: /invalid name/ },
    { name: 'status victim -n ../..', args: ['status', 'victim', '-n', '../..'], error: /invalid namespace/ },
    { name: 'serve ..', args: ['serve', '..'], error: /invalid name/ },
    { name: 'serve victim -n ..', args: ['serve', 'victim', '-n', '..'], error: /invalid namespace/ },
    { name: 'serve --port abc', args: ['serve', 'victim', '--port', 'abc'], error: /--port must be a number/, code: 64 },
    { name: "an empty --state-dir", args: ['status', '--state-dir', ''], error: /--state-dir must not be empty/, code: 64 },
  ])('$name fails with a clear error and keeps every file', async ({ args, error, code }) => {
    const w = world();
    const result = await run(args.includes('--state-dir') ? args : [...args, '--state-dir', w.stateDir]);
    expect(result.code).toBe(code ?? 1);
    expect(result.stderr).toMatch(error);
    expect(existsSync(join(w.victim, 'status.json'))).toBe(true);
    expect(readFileSync(join(w.outside, 'victim', 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('refuses to delete through a symbolic link that leads outside the state directory', async () => {
    const w = world();
    symlinkSync(w.outside, join(w.stateDir, 'linked'));
    const result = await run(['delete', 'victim', '-n', 'linked', '--state-dir', w.stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/leads outside/);
    expect(readFileSync(join(w.outside, 'victim', 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('deletes a valid request, and only it', async () => {
    const w = world();
    const result = await run(['delete', 'victim', '--state-dir', w.stateDir]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toMatch(/Deleted default\/victim/);
    expect(existsSync(w.victim)).toBe(false);
    expect(existsSync(join(w.stateDir, 'default'))).toBe(true);
  });

  it('lists requests and skips folders the API server would not accept as names', async () => {
    const w = world();
    mkdirSync(join(w.stateDir, 'Not A Namespace', 'x'), { recursive: true });
    writeFileSync(join(w.stateDir, 'Not A Namespace', 'x', 'status.json'), '{}');
    const result = await run(['status', '--state-dir', w.stateDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/default\s+victim\s+AwaitingInput/);
    expect(result.stdout).not.toMatch(/Not A Namespace/);
  });
});

describe('delete and a running request', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill('SIGKILL');
    holder = undefined;
  });

  it('refuses while a run holds the request, naming it, and deletes nothing', async () => {
    const w = world();
    holder = spawn('sleep', ['30']);
    writeFileSync(join(w.victim, 'run.lock'), JSON.stringify({ ...thisProcess('run'), pid: holder.pid, startTime: undefined }));
    const result = await run(['delete', 'victim', '--state-dir', w.stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`in use by trainer-agent run \\(pid ${holder.pid}\\)`));
    expect(existsSync(join(w.victim, 'status.json'))).toBe(true);
  });

  it('deletes once the run that held the request has died (its lock is stale)', async () => {
    const w = world();
    writeFileSync(join(w.victim, 'run.lock'), JSON.stringify({ pid: 2 ** 22 + 17, command: 'run', since: 'earlier' }));
    const result = await run(['delete', 'victim', '--state-dir', w.stateDir]);
    expect(result.code).toBe(0);
    expect(existsSync(w.victim)).toBe(false);
  });
});

describe('request files', () => {
  const file = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'req-'));
    writeFileSync(join(dir, 'request.yaml'), text);
    return { path: join(dir, 'request.yaml'), stateDir: join(dir, 'state') };
  };
  const head = 'apiVersion: traineragent.io/v1alpha1\nkind: TrainingRequest\nmetadata:\n  name: typo\nspec:\n  requirement: Classify emails as spam or ham.\n';

  it.each([
    { name: 'a misspelt budget field', yaml: `${head}  budget:\n    maxAtempts: 3\n`, error: /spec\.budget\.maxAtempts: unknown field \(did you mean "maxAttempts"\?\)/ },
    { name: 'a misspelt data field', yaml: `${head}  data:\n    - name: d\n      uri: file:x.jsonl\n      format: jsonl\n      labelColum: y\n`, error: /spec\.data\.0\.labelColum: unknown field \(did you mean "labelColumn"\?\)/ },
    { name: 'an unknown top-level field', yaml: `${head}specs: {}\n`, error: /specs: unknown field \(did you mean "spec"\?\)/ },
    { name: 'an unknown override', yaml: `${head}  overrides:\n    serving:\n      qpss: 5\n`, error: /spec\.overrides\.serving\.qpss: unknown field/ },
    { name: 'accuracy >= 7 in overrides', yaml: `${head}  overrides:\n    objectives:\n      - { metric: accuracy, op: '>=', value: 7 }\n`, error: /spec\.overrides\.objectives\.0\.value: accuracy 7 is out of range: accuracy is a fraction between 0 and 1/ },
    { name: 'a billion QPS in overrides', yaml: `${head}  overrides:\n    serving:\n      qps: 1000000000\n`, error: /spec\.overrides\.serving\.qps: Too big/ },
    { name: 'a terabyte container in overrides', yaml: `${head}  overrides:\n    serving:\n      memoryBytes: 1000000000000\n`, error: /spec\.overrides\.serving\.memoryBytes: Too big/ },
    { name: 'broken YAML (line and column kept)', yaml: `${head}  budget:\n    maxAttempts: 3\n   bad: [\n`, error: /is not valid YAML: .*\(9:4\)/ },
  ])('refuses $name with the path of the field', async ({ yaml, error }) => {
    const f = file(yaml);
    const result = await run(['run', f.path, '--state-dir', f.stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(error);
    expect(existsSync(f.stateDir)).toBe(false);
  });
});
