/**
 * `npm run bench:operator [-- --requests 1000 --held 100 --rejected 300 --no-faults --baseline DIR --out FILE]`:
 * the operator at scale on a fresh local control plane (e2e/cluster, started and stopped around
 * it by with-cluster.sh). Prints the report and writes it as JSON. Not part of CI (a small version
 * runs as e2e/operator/scale.e2e.test.ts).
 *
 * `--baseline DIR` runs another checkout's operator instead (e.g. `git archive <commit> | tar -x -C DIR`
 * with node_modules linked in), measured the same way: through the API server's audit log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, runScale } from './scale.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000' },
    held: { type: 'string', default: '100' },
    rejected: { type: 'string', default: '300' },
    'no-faults': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'resync-seconds': { type: 'string', default: '120' },
    'idle-seconds': { type: 'string', default: '130' },
    'settle-timeout-seconds': { type: 'string', default: '900' },
    out: { type: 'string' },
    'node-options': { type: 'string' },
  },
});

const work = mkdtempSync(join(tmpdir(), 'ta-bench-operator-'));
const report = await runScale({
  requests: Number(values.requests),
  held: Number(values.held),
  rejected: Number(values.rejected),
  faults: !values['no-faults'],
  ...(values.baseline ? { operatorRoot: resolve(values.baseline) } : {}),
  resyncSeconds: Number(values['resync-seconds']),
  idleSeconds: Number(values['idle-seconds']),
  settleTimeoutSeconds: Number(values['settle-timeout-seconds']),
  work,
  ...(values['node-options'] ? { nodeOptions: values['node-options'] } : {}),
});
const out = values.out ?? join(work, 'report.json');
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${formatReport(report)}\n  report: ${out}\n`);
const failed = !report.settled || report.checks.lost.length + report.checks.duplicateJobs.length + report.checks.unexpectedJobs.length > 0;
process.exitCode = failed ? 1 : 0;
