import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, conditionOf, readStatusFile, REPO, startCli } from './testing/cli.js';

// The TrainerAgent paper's text-classification story, end to end with the offline brain and no
// network: product promotions with and without benefit information (generated data).
// Step 2 fine-tunes a MiniLM teacher on the CPU: about 5 min on a quiet 2-core machine, 17 min at load 10.
jest.setTimeout(45 * 60 * 1000);

const example = (file: string) => join(REPO, 'examples', 'promotions', file);
const stateDir = mkdtempSync(join(tmpdir(), 'ta-paper-story-'));
const condition = conditionOf;

beforeAll(() => {
  spawnSync(process.execPath, [example('generate-data.mjs')], { stdio: 'inherit' });
});

describe('the paper story: a promotion-benefit classifier', () => {
  it('1. with 30 labelled examples, the agents ask for a concrete number more', async () => {
    const result = await cli(['run', example('step-1-few-examples.yaml'), '--state-dir', stateDir]);
    expect(result.code).toBe(2);
    const status = readStatusFile(stateDir, 'promo-benefits');
    expect(status.phase).toBe('AwaitingInput');
    expect(condition(status, 'AwaitingInput')?.status).toBe('True');
    expect(status.question).toMatch(/at least \d+ more labelled rows/);
    expect(status.task).toMatchObject({ task: 'text-classification', objectives: [{ metric: 'accuracy', op: '>=', value: 0.9 }], constraints: { maxParameters: 10_000_000 } });
  });

  it('2. with 100 labelled (some wrong) and 1,000 unlabelled, they correct labels, fall short, use a teacher and meet 90%', async () => {
    const result = await cli(['run', example('step-2-more-data.yaml'), '--state-dir', stateDir]);
    expect(result.code).toBe(0);
    const status = readStatusFile(stateDir, 'promo-benefits');
    expect(status.phase).toBe('Ready');
    expect(status.data!.labelIssues).toBeGreaterThan(0);
    const attempts = status.attempts!;
    const first = attempts[0]!;
    expect(first.metrics.accuracy!).toBeLessThan(0.9);
    const teacher = attempts.find((a) => a.note!.startsWith('[teacher]'))!;
    const student = attempts.find((a) => a.note!.startsWith('[student]'))!;
    expect(teacher.parameters!).toBeGreaterThan(10_000_000);
    expect(student.parameters!).toBeLessThan(10_000_000);
    expect(student.metrics.accuracy!).toBeGreaterThanOrEqual(0.9);
    expect(student.metrics.accuracy!).toBeGreaterThan(first.metrics.accuracy!);
    expect(condition(status, 'TargetMet')?.status).toBe('True');
    expect(status.model!.attempt).toBe(student.n);
    expect(condition(status, 'Deployed')).toBeUndefined();
  });

  it('3. asked to deploy in 2 GB containers at 100 QPS, they convert, size, document and serve it', async () => {
    const result = await cli(['run', example('step-3-deploy.yaml'), '--state-dir', stateDir]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/Started job promo-benefits-(data|train)/);
    const status = readStatusFile(stateDir, 'promo-benefits');
    expect(status.phase).toBe('Ready');
    expect(status.task!.serving).toMatchObject({ qps: 100, memoryBytes: 2_000_000_000 });
    expect(status.estimate!.replicas).toBeGreaterThanOrEqual(2);
    expect(status.estimate!.memoryBytes).toBeLessThanOrEqual(2_000_000_000);
    expect(status.estimate!.reasoning.join(' ')).toMatch(/100/);
    expect(condition(status, 'Converted')?.status).toBe('True');
    expect(condition(status, 'Deployed')?.status).toBe('True');

    const server = startCli(['serve', 'promo-benefits', '--state-dir', stateDir, '--port', '18731']);
    try {
      const url = 'http://127.0.0.1:18731';
      await waitUntilReady(url);
      const response = await fetch(`${url}/v2/models/promo-benefits/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [2, 1], data: ['Take an extra 25% off at checkout on the air fryer.', 'Our hiking backpack is crafted by hand in small batches.'] }] }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { outputs: { name: string; data: unknown[] }[] };
      expect(body.outputs.find((o) => o.name === 'label')?.data).toEqual(['benefit', 'no-benefit']);
    } finally {
      server.child.kill('SIGTERM');
      await server.done;
    }
  });
});

async function waitUntilReady(url: string): Promise<void> {
  for (let i = 0; i < 120; i += 1) {
    try {
      if ((await fetch(`${url}/v2/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} never became ready`);
}
