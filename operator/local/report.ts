import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { TrainingRequestStatus } from '../api/training-request.js';
import { describeBrain } from '../pipeline/brain-status.js';
import { writeFileAtomic } from './state.js';

const escape = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** PNG plots under a folder, as paths relative to the report. */
function plots(dir: string, root: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.png'))
    .map((f) => relative(root, join(dir, f)));
}

/**
 * Write `report.html` for a request: status summary, conditions, data report, every attempt with
 * its plots, the estimate with its reasoning, and the API document. Self-contained but for the
 * PNGs it links, which sit next to it.
 */
export function writeReport(dir: string, status: TrainingRequestStatus): string {
  const path = join(dir, 'report.html');
  const section = (title: string, body: string) => `<section><h2>${escape(title)}</h2>${body}</section>`;
  const table = (rows: unknown[][], head: string[]) =>
    `<table><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  const images = (files: string[]) => files.map((f) => `<figure><img src="${escape(f)}" alt="${escape(basename(f))}"><figcaption>${escape(basename(f))}</figcaption></figure>`).join('');
  const apiDoc = status.apiDoc && existsSync(status.apiDoc.uri.replace(/openapi\.json$/, 'README.md')) ? readFileSync(status.apiDoc.uri.replace(/openapi\.json$/, 'README.md'), 'utf8') : '';
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>TrainerAgent report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}figure{display:inline-block;margin:8px}img{max-width:480px}pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}</style></head><body>
<h1>TrainerAgent report</h1>
<p><b>Phase:</b> ${escape(status.phase)} · <b>Metric:</b> ${escape(status.metric)} · <b>Endpoint:</b> ${escape(status.endpoint?.url ?? 'not deployed')}</p>
${status.question ? `<p><b>Question for you:</b> ${escape(status.question)}</p>` : ''}
${section('Brain', `<p>${escape(describeBrain(status.brain))}</p>${table((status.brain?.decisions ?? []).map((d) => [d.agent, d.decision, d.answeredBy, d.fallbackReason ?? '']), ['agent', 'decision', 'answered by', 'why it fell back'])}`)}
${section('Requirement as understood', `<pre>${escape(JSON.stringify(status.task, null, 2))}</pre>`)}
${section('Plan', table((status.plan?.steps ?? []).map((s) => [s.id, s.agent, s.description]), ['step', 'agent', 'what']))}
${section('Conditions', table((status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]), ['type', 'status', 'reason', 'message']))}
${section('Data', `<p>${escape(status.data?.summary ?? 'not prepared')}</p>${status.data?.reportUri ? images(plots(dirname(status.data.reportUri), dir)) : ''}`)}
${section('Attempts', table((status.attempts ?? []).map((a) => [a.n, a.model, a.state, JSON.stringify(a.metrics), a.interval ? JSON.stringify(a.interval) : '', a.evaluation ? `${a.evaluation.method}, ${a.evaluation.rows} rows` : '', a.parameters, a.durationSeconds?.toFixed(1), a.note]), ['#', 'model', 'state', 'metrics', '95% interval', 'evaluated by', 'parameters', 'seconds', 'note']) + (status.attempts ?? []).map((a) => (a.artifacts ? `<h3>Attempt ${a.n}: ${escape(a.model)}</h3>${images(plots(a.artifacts, dir))}` : '')).join(''))}
${section('Serving estimate', status.estimate ? `${table([[status.estimate.replicas, status.estimate.perReplicaQps.toFixed(1), status.estimate.saturationQps.toFixed(1), status.estimate.targetLatencyP99Ms, status.estimate.predictedLatencyP99Ms.toFixed(2), status.estimate.memoryBytes, status.estimate.accelerator]], ['replicas', 'per-replica QPS', 'saturation QPS', 'target p99 ms', 'predicted p99 ms', 'memory bytes', 'accelerator'])}<ul>${status.estimate.reasoning.map((r) => `<li>${escape(r)}</li>`).join('')}</ul>` : '<p>not estimated</p>')}
${section('API', apiDoc ? `<pre>${escape(apiDoc)}</pre>` : '<p>no API document yet</p>')}
${section('Conversation', (status.conversation ?? []).map((t) => `<p><b>${escape(t.from)}</b>: ${escape(t.text)}</p>`).join(''))}
</body></html>\n`;
  writeFileAtomic(path, html);
  return path;
}
