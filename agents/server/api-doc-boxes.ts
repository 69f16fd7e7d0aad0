import { z } from 'zod';
import { API_MAX_BODY_BYTES, EXAMPLE_PNG_BASE64, type ApiDoc } from './api-doc.js';
import type { Estimate } from './estimate.js';

/** A held-out example the conversion job answered with the converted model (a real image, and query). */
export const BoxExample = z.object({
  image: z.string().min(1).describe('base64 JPEG or PNG of a held-out image'),
  query: z.string().optional().describe('grounding: the query asked about it'),
  boxes: z.array(z.array(z.number()).length(4)).describe('x1 y1 x2 y2 pixels of that image'),
  scores: z.array(z.number()),
  labels: z.array(z.string()).optional().describe('detection: the boxes\' labels'),
});
export type BoxExample = z.infer<typeof BoxExample>;

/** What the API document of a box model describes. */
export interface BoxApiDocInput {
  model: string;
  kind: 'grounding' | 'detection';
  /** Detection: the label set. */
  labels: string[];
  serverUrl: string;
  /** Detection: K, the boxes per image (outputs are padded to it). */
  maxDetections?: number;
  metrics?: Record<string, number>;
  baselines?: Record<string, Record<string, number>>;
  estimate?: Estimate;
  example?: BoxExample;
  maxBodyBytes?: number;
}

const METRIC_WORDS: Record<string, string> = {
  accuracy: 'Acc@0.5 (share of queries whose box has IoU ≥ 0.5 with the true box)',
  iou: 'mean IoU',
  map: 'mAP@0.5:0.95 (COCO)',
  map50: 'mAP@0.5',
  map75: 'mAP@0.75',
  mar100: 'mean recall at 100 detections',
};

const round = (x: number) => Math.round(x * 100) / 100;

function requestBody(input: BoxApiDocInput): Record<string, unknown> {
  const image = input.example?.image ?? EXAMPLE_PNG_BASE64;
  const inputs: Record<string, unknown>[] = [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [image] }];
  if (input.kind === 'grounding') inputs.push({ name: 'query', datatype: 'BYTES', shape: [1, 1], data: [input.example?.query ?? 'red ceramic mug'] });
  return { id: 'example-1', inputs };
}

function responseBody(input: BoxApiDocInput): Record<string, unknown> {
  const e = input.example;
  if (input.kind === 'grounding') {
    const box = e?.boxes[0] ?? [12, 20, 96, 110];
    return { model_name: input.model, model_version: '1', id: 'example-1', outputs: [
      { name: 'boxes', datatype: 'FP32', shape: [1, 4], data: box.map(round) },
      { name: 'scores', datatype: 'FP32', shape: [1, 1], data: [round(e?.scores[0] ?? 0.9)] }] };
  }
  const k = input.maxDetections ?? 1;
  const found = (e?.boxes ?? []).slice(0, k);
  const boxes = Array.from({ length: k }, (_, i) => found[i] ?? [0, 0, 0, 0]).flat().map(round);
  const labels = Array.from({ length: k }, (_, i) => (i < found.length ? e?.labels?.[i] ?? '' : ''));
  const scores = Array.from({ length: k }, (_, i) => (i < found.length ? round(e?.scores[i] ?? 0) : 0));
  return { model_name: input.model, model_version: '1', id: 'example-1', outputs: [
    { name: 'boxes', datatype: 'FP32', shape: [1, k, 4], data: boxes },
    { name: 'labels', datatype: 'BYTES', shape: [1, k], data: labels },
    { name: 'scores', datatype: 'FP32', shape: [1, k], data: scores },
    { name: 'count', datatype: 'INT32', shape: [1, 1], data: [found.length] }] };
}

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { error: description } } },
});

/** OpenAPI 3.1 document of a box model's KServe v2 endpoint, with a real held-out example when there is one. */
export function buildBoxOpenApi(input: BoxApiDocInput): Record<string, unknown> {
  const base = `/v2/models/${input.model}`;
  const k = input.maxDetections ?? 1;
  const grounding = input.kind === 'grounding';
  const tensor = (name: string, description: string) => ({
    type: 'object', required: ['name', 'datatype', 'shape', 'data'], description,
    properties: { name: { const: name }, datatype: { const: 'BYTES' }, shape: { type: 'array', prefixItems: [{ type: 'integer', minimum: 1 }, { const: 1 }] },
      data: { type: 'array', items: { type: 'string' } } },
  });
  const what = grounding
    ? 'Send N rows as `image` (base64 PNG/JPEG) and `query` (the text naming what to find), each [N, 1]; get `boxes` [N, 4] (x1 y1 x2 y2 in pixels of each input image) and `scores` [N, 1] (how well the box matches the query, 0..1).'
    : `Send N images as \`image\` [N, 1] (base64 PNG/JPEG); get \`boxes\` [N, ${k}, 4] (x1 y1 x2 y2 in pixels of each input image), \`labels\` [N, ${k}], \`scores\` [N, ${k}] and \`count\` [N, 1]: the first count[i] entries of row i are detections, the rest padding (score 0, label "").`;
  return {
    openapi: '3.1.0',
    info: { title: `${input.model} inference API`, version: '1',
      description: `KServe v2 / Open Inference Protocol REST endpoint of the ${grounding ? 'visual grounding' : 'object detection'} model "${input.model}". ${what}` +
        `${grounding ? '' : ` Labels: ${input.labels.join(', ')}.`} Request bodies up to ${input.maxBodyBytes ?? API_MAX_BODY_BYTES} bytes. JSON, or Triton's binary tensor extension.` },
    servers: [{ url: input.serverUrl }],
    paths: {
      '/v2/health/ready': { get: { operationId: 'serverReady', summary: 'Server readiness', responses: { '200': { description: 'Ready' }, '503': errorResponse('not ready') } } },
      [base]: { get: { operationId: 'modelMetadata', summary: 'Model metadata: inputs and outputs', responses: { '200': { description: 'Model metadata' }, '404': errorResponse('unknown model') } } },
      [`${base}/infer`]: { post: {
        operationId: 'infer', summary: grounding ? 'Find the box a query names' : 'Detect objects', description: what,
        requestBody: { required: true, content: { 'application/json': {
          schema: { $ref: '#/components/schemas/InferRequest' },
          examples: { [input.example ? 'held-out-image' : 'placeholder-image']: {
            summary: input.example ? `a held-out image${grounding ? ` and the query "${input.example.query}"` : ''}, answered by the converted model` : 'a placeholder image',
            value: requestBody(input) } } } } },
        responses: {
          '200': { description: grounding ? 'The box and its score per row' : 'Detections per image', content: { 'application/json': { example: responseBody(input) } } },
          '400': errorResponse(`invalid request (inputs must be ${grounding ? '"image" and "query"' : '"image"'}, BYTES, shape [N, 1]; images PNG or JPEG)`),
          '404': errorResponse('unknown model'),
          '413': errorResponse('request body or rows over the limit'),
          '429': errorResponse('the server is busy; retry after the Retry-After seconds'),
          '500': errorResponse('inference failed'),
        } } },
    },
    components: { schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
      InferRequest: { type: 'object', required: ['inputs'], properties: {
        id: { type: 'string' },
        inputs: { type: 'array', minItems: grounding ? 2 : 1, maxItems: grounding ? 2 : 1,
          items: grounding ? { oneOf: [tensor('image', 'base64 PNG or JPEG per row'), tensor('query', 'what to find, one per row')] } : tensor('image', 'base64 PNG or JPEG per row') },
        outputs: { type: 'array', items: { type: 'object', properties: { name: { enum: grounding ? ['boxes', 'scores'] : ['boxes', 'labels', 'scores', 'count'] } } } },
      } },
      ...(grounding ? {} : { Label: { type: 'string', enum: input.labels } }),
    } },
  };
}

/** The Markdown guide: endpoint, a curl and a Python example on a real held-out image, quality beside the baselines, capacity. */
export function buildBoxGuide(input: BoxApiDocInput): string {
  const url = `${input.serverUrl}/v2/models/${input.model}/infer`;
  const grounding = input.kind === 'grounding';
  const e = input.example;
  const lines = [
    `# ${input.model} — inference API`, '',
    grounding
      ? `KServe v2 REST. \`POST ${url}\` with \`image\` (BYTES [N, 1], base64 PNG/JPEG) and \`query\` (BYTES [N, 1]); the answer has \`boxes\` (FP32 [N, 4], x1 y1 x2 y2 in pixels of each input image) and \`scores\` (FP32 [N, 1]).`
      : `KServe v2 REST. \`POST ${url}\` with \`image\` (BYTES [N, 1], base64 PNG/JPEG); the answer has \`boxes\` (FP32 [N, ${input.maxDetections ?? 'K'}, 4]), \`labels\` (BYTES [N, K]), \`scores\` (FP32 [N, K]) and \`count\` (INT32 [N, 1]): row i's first count[i] detections are real. Labels: ${input.labels.map((l) => `\`${l}\``).join(', ')}.`,
    '',
    '## Example', '',
    e ? `A held-out image of the evaluation${grounding ? ` with the query "${e.query}"` : ''}; the converted model answered ${grounding ? `box [${e.boxes[0]?.map(round).join(', ')}] with score ${round(e.scores[0] ?? 0)}` : `${e.boxes.length} detection(s)${e.labels?.length ? ` (${e.labels.join(', ')})` : ''}`}.` : 'A placeholder image (no held-out example was available).',
    '', '```python', 'import base64, requests',
    `image = base64.b64encode(open("frame.jpg", "rb").read()).decode()`,
    grounding
      ? `r = requests.post("${url}", json={"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1, 1], "data": [image]}, {"name": "query", "datatype": "BYTES", "shape": [1, 1], "data": [${JSON.stringify(e?.query ?? 'red ceramic mug')}]}]})`
      : `r = requests.post("${url}", json={"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1, 1], "data": [image]}]})`,
    'out = {o["name"]: o["data"] for o in r.json()["outputs"]}', grounding ? 'x1, y1, x2, y2 = out["boxes"][:4]' : 'n = out["count"][0]', '```', '',
    'The full request with the example image inline is in `openapi.json` (paths → infer → requestBody examples).', '',
    '## Limits and errors', '',
    `- Request bodies up to ${input.maxBodyBytes ?? API_MAX_BODY_BYTES} bytes; errors are JSON \`{"error": "..."}\` (400 bad input, 413 too large, 429 busy, 503 not ready).`,
  ];
  const metrics = Object.entries(input.metrics ?? {});
  if (metrics.length) {
    lines.push('', '## Quality (held-out images)', '', ...metrics.map(([k, v]) => `- ${METRIC_WORDS[k] ?? k}: ${(v * 100).toFixed(1)}%`));
    for (const [name, values] of Object.entries(input.baselines ?? {})) {
      lines.push(`- baseline "${name}": ${Object.entries(values).map(([k, v]) => `${METRIC_WORDS[k] ?? k} ${(v * 100).toFixed(1)}%`).join(', ')}`);
    }
  }
  if (input.estimate) {
    const est = input.estimate;
    lines.push('', '## Capacity', '', `- ${est.replicas} replica(s), each planned for ${est.perReplicaQps.toFixed(1)} req/s, p99 target ${est.targetLatencyP99Ms} ms (predicted ${est.predictedLatencyP99Ms.toFixed(1)} ms), ${Math.round(est.memoryBytes / 1e6)} MB per replica.`);
  }
  return `${lines.join('\n')}\n`;
}

/** The OpenAPI document, the guide and a one-line summary of a box model. */
export function buildBoxApiDoc(input: BoxApiDocInput): ApiDoc {
  const grounding = input.kind === 'grounding';
  return {
    openapi: buildBoxOpenApi(input),
    markdown: buildBoxGuide(input),
    summary: grounding
      ? `POST ${input.serverUrl}/v2/models/${input.model}/infer with image and query (BYTES [N, 1]) → boxes [N, 4] (pixels) and scores [N, 1].`
      : `POST ${input.serverUrl}/v2/models/${input.model}/infer with image (BYTES [N, 1]) → boxes [N, ${input.maxDetections ?? 'K'}, 4], labels (${input.labels.join(' | ')}), scores and count.`,
  };
}
