/**
 * How much the serving estimate of one model moves between reruns on a busy machine:
 *
 *   node --import tsx operator/local/serve/estimate-spread.ts --repository DIR --model NAME \
 *     --reference reference-predictions.jsonl [--runs 5] [--hogs 2] [--tree DIR]
 *
 * calibrates the model through the local server `--runs` times (with the calibration code of `--tree`,
 * default this checkout) while `--hogs` processes load the CPU in random bursts, and prints each run's
 * per-replica QPS for 100 QPS at the default latency target, whether the run called itself reliable,
 * and the spread (max/min) over the runs. Prints one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** A process that keeps a CPU busy in random bursts (50–400 ms on, 50–400 ms off), like other users of a shared machine. */
function hog(seed: number): ChildProcess {
  const code = `let s=${seed};const r=()=>((s=(s*1103515245+12345)%2147483648)/2147483648);
    const burst=()=>{const end=Date.now()+50+350*r();while(Date.now()<end){}setTimeout(burst,50+350*r());};burst();`;
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repository: { type: 'string' }, model: { type: 'string', default: 'spam' }, reference: { type: 'string' },
    runs: { type: 'string', default: '5' }, hogs: { type: 'string', default: '2' }, tree: { type: 'string', default: '.' } } });
  const tree = resolve(values.tree);
  const { calibrateServedProfile } = await import(join(tree, 'operator', 'local', 'serve', 'calibrate.ts')) as typeof import('./calibrate.js');
  const { estimateReplicas } = await import(join(tree, 'agents', 'server', 'estimate.ts')) as typeof import('../../../agents/server/estimate.js');
  const hogs = Array.from({ length: Number(values.hogs) }, (_, i) => hog(i + 1));
  const runs = [];
  try {
    for (let i = 0; i < Number(values.runs); i += 1) {
      const started = performance.now();
      const { profile } = await calibrateServedProfile({ repositoryDir: resolve(values.repository!), model: values.model, referencePredictions: resolve(values.reference!) });
      const estimate = estimateReplicas(profile, { qps: 100 }) as ReturnType<typeof estimateReplicas> & { reliable?: boolean; measurementSpread?: number };
      runs.push({ seconds: Math.round((performance.now() - started) / 100) / 10, saturationQps: Math.round(profile.saturationQps), serviceTimeP99Ms: Math.round(profile.serviceTimeP99Ms * 100) / 100,
        perReplicaQps: Math.round(estimate.perReplicaQps * 10) / 10, replicas: estimate.replicas, reliable: estimate.reliable,
        spread: estimate.measurementSpread === undefined ? undefined : Math.round(estimate.measurementSpread * 100) / 100 });
    }
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
  const per = runs.map((r) => r.perReplicaQps);
  const reliable = runs.filter((r) => r.reliable !== false).map((r) => r.perReplicaQps);
  process.stdout.write(`${JSON.stringify({ tree, hogs: hogs.length, runs,
    perReplicaQps: { min: Math.min(...per), max: Math.max(...per), maxOverMin: Math.round((Math.max(...per) / Math.min(...per)) * 100) / 100 },
    reliableRuns: reliable.length,
    reliablePerReplicaQps: reliable.length ? { min: Math.min(...reliable), max: Math.max(...reliable), maxOverMin: Math.round((Math.max(...reliable) / Math.min(...reliable)) * 100) / 100 } : null,
  }, null, 2)}\n`);
}

await main();
