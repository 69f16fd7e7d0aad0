import { readFile } from 'node:fs/promises';
import { isAbsolute, join, dirname } from 'node:path';
import type { ServingProfile } from '../../../agents/server/estimate.js';
import { profileServedModel, type OpenLoopProbe, type SweepPoint } from './profile.js';
import { startServer } from './server.js';
import { tabularRequestBody } from './tabular-protocol.js';

/** Settings of {@link calibrateServedProfile}. */
export interface CalibrateOptions {
  repositoryDir: string;
  model: string;
  /** The conversion job's reference-predictions.jsonl: its rows become the request bodies. */
  referencePredictions: string;
  concurrencies?: number[];
  windowMs?: number;
  maxWindows?: number;
  openLoopProbe?: boolean;
}

/**
 * Re-measure a converted model through the local KServe v2 server, so the estimate plans on what HTTP
 * clients get rather than raw onnxruntime calls. The load generator shares this process with the server,
 * which makes the numbers conservative; `npm run bench` runs the server in a child process instead.
 */
export async function calibrateServedProfile(o: CalibrateOptions):
  Promise<{ profile: ServingProfile; sweep: SweepPoint[]; closedLoopSaturationQps: number; probes: OpenLoopProbe[] }> {
  const rows = (await readFile(o.referencePredictions, 'utf8')).split('\n').filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text?: string; image?: string; query?: string; features?: Record<string, unknown> });
  if (rows.length === 0) throw new Error(`no rows in ${o.referencePredictions}`);
  const server = await startServer({ repositoryDir: o.repositoryDir, model: o.model });
  try {
    const image = server.model.kind !== 'text';
    const base = dirname(o.referencePredictions);
    const table = server.model.tabular ? { ...server.model, tabular: server.model.tabular } : undefined;
    const bodies = table ? tableBodies(table, rows) : await Promise.all(rows.slice(0, 500).map(async (r) => {
      const data = image ? (await readFile(isAbsolute(r.image!) ? r.image! : join(base, r.image!))).toString('base64') : r.text ?? '';
      // Grounding rows carry their query as a second input.
      const query = r.query !== undefined ? [{ name: 'query', datatype: 'BYTES', shape: [1, 1], data: [r.query] }] : [];
      return JSON.stringify({ inputs: [{ name: image ? 'image' : 'text', datatype: 'BYTES', shape: [1, 1], data: [data] }, ...query] });
    }));
    return await profileServedModel({
      url: `${server.url}/v2/models/${o.model}/infer`, bodies,
      instances: server.model.batching.instances, maxBatchSize: server.model.batching.maxBatchSize,
      // Up to eight 1-s windows per level: on a shared machine three in a row rarely agree sooner.
      concurrencies: o.concurrencies ?? [1, 2, 4, 8], windowMs: o.windowMs ?? 1000, maxWindows: o.maxWindows ?? 8,
      peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
      ...(o.openLoopProbe !== undefined ? { openLoopProbe: o.openLoopProbe } : {}),
    });
  } finally {
    await server.close();
  }
}

/**
 * Single-row JSON bodies of a table model. Rows with a missing number are left out (JSON carries no
 * NaN); when every row has one, its missing numbers become 0, which costs a tree the same to evaluate.
 */
function tableBodies(table: Parameters<typeof tabularRequestBody>[0], rows: { features?: Record<string, unknown> }[]): string[] {
  const numeric = table.tabular.features.filter((f) => f.datatype === 'FP32').map((f) => f.name);
  const complete = rows.filter((r) => numeric.every((n) => typeof r.features?.[n] === 'number'));
  const chosen = (complete.length ? complete : rows).slice(0, 500);
  return chosen.map((r) => tabularRequestBody(table, [Object.fromEntries(Object.entries(r.features ?? {}).map(([k, v]) => [k, v ?? (numeric.includes(k) ? 0 : '')]))]));
}
