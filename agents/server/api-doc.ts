import type { Estimate } from './estimate.js';

/** Request bodies the servers accept (the local server's default; DESIGN.md asks for ≥ 16 MiB). */
export const API_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** An 8×8 mid-grey PNG, base64: a valid example image for image models. */
export const EXAMPLE_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAAAAADhZOFXAAAAEElEQVR4nGNsYIAAJgaKGAAmCACQXTClHgAAAABJRU5ErkJggg==';

/** What the API document describes. */
export interface ApiDocInput {
  /** Model name: the `<model>` in `/v2/models/<model>`. */
  model: string;
  /** Label values in probability-column order. */
  labels: string[];
  modality: 'text' | 'image';
  /** Base URL of the server, e.g. `http://127.0.0.1:8000`. */
  serverUrl: string;
  /** Evaluation metrics of the served model (fractions), shown in the guide. */
  metrics?: Record<string, number>;
  /** Capacity estimate, shown in the guide. */
  estimate?: Estimate;
  maxBodyBytes?: number;
  /** Rows one request may carry (Triton: the model's max_batch_size; default: the estimate's). */
  maxRowsPerRequest?: number;
}

/** The OpenAPI document, a Markdown guide and a one-line summary for status. */
export interface ApiDoc {
  openapi: Record<string, unknown>;
  markdown: string;
  summary: string;
}

/** Rows per request the document states, when known. */
const maxRowsOf = (input: ApiDocInput): number | undefined => input.maxRowsPerRequest ?? input.estimate?.maxBatchSize;

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { error: description } } },
});

/**
 * Example rows, one per label (at most three). They are placeholders, not real inputs: the example
 * response can then list the labels in the model's own order (probability column i is label i)
 * without pairing a made-up text with a label the model would not give it.
 */
function exampleRows(input: ApiDocInput): string[] {
  const n = Math.max(1, Math.min(3, input.labels.length));
  return Array.from({ length: n }, (_, i) => (input.modality === 'image' ? EXAMPLE_PNG_BASE64 : `text to classify (row ${i + 1})`));
}

function exampleResponse(input: ApiDocInput, n: number): Record<string, unknown> {
  const k = input.labels.length;
  const probs = Array.from({ length: n }, (_, i) => input.labels.map((_, c) => (c === i % k ? 0.9 : 0.1 / Math.max(1, k - 1))));
  return {
    model_name: input.model, model_version: '1', id: 'example-1',
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [n, 1], data: probs.map((_, i) => input.labels[i % k]) },
      { name: 'probabilities', datatype: 'FP32', shape: [n, k], data: probs.flat().map((p) => Math.round(p * 1e4) / 1e4) },
    ],
  };
}

/** OpenAPI 3.1 document of the model's KServe v2 (Open Inference Protocol) REST endpoint. */
export function buildOpenApi(input: ApiDocInput): Record<string, unknown> {
  const inputName = input.modality === 'text' ? 'text' : 'image';
  const maxBody = input.maxBodyBytes ?? API_MAX_BODY_BYTES;
  const maxRows = maxRowsOf(input);
  const base = `/v2/models/${input.model}`;
  const rows = exampleRows(input);
  const k = input.labels.length;
  const inputDescription = input.modality === 'text'
    ? 'One raw string per row (the vectorizer/tokenizer is part of the model).'
    : 'One base64-encoded PNG or JPEG per row; the server decodes, resizes and normalises it as in training.';
  return {
    openapi: '3.1.0',
    info: {
      title: `${input.model} inference API`,
      version: '1',
      description: `KServe v2 / Open Inference Protocol REST endpoint of the ${input.modality} classifier "${input.model}". ` +
        `Labels, in probability-column order: ${input.labels.join(', ')}. Request bodies up to ${maxBody} bytes` +
        `${maxRows ? `, at most ${maxRows} rows per request` : ''}. JSON, or Triton's binary tensor extension.`,
    },
    servers: [{ url: input.serverUrl }],
    paths: {
      '/v2/health/live': { get: { operationId: 'serverLive', summary: 'Server liveness', responses: {
        '200': { description: 'The server is live', content: { 'application/json': { schema: { type: 'object', properties: { live: { type: 'boolean' } } } } } } } } },
      '/v2/health/ready': { get: { operationId: 'serverReady', summary: 'Server readiness', responses: {
        '200': { description: 'Ready for inference', content: { 'application/json': { schema: { type: 'object', properties: { ready: { type: 'boolean' } } } } } },
        '503': errorResponse('not ready') } } },
      [base]: { get: { operationId: 'modelMetadata', summary: 'Model metadata: inputs and outputs', responses: {
        '200': { description: 'Model metadata', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelMetadata' } } } },
        '404': errorResponse('unknown model') } } },
      [`${base}/ready`]: { get: { operationId: 'modelReady', summary: 'Model readiness', responses: {
        '200': { description: 'The model is ready', content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } } } } } },
        '503': errorResponse('model is not ready') } } },
      [`${base}/infer`]: { post: {
        operationId: 'infer',
        summary: `Classify ${input.modality === 'text' ? 'texts' : 'images'}`,
        description: `Send N rows in the \`${inputName}\` input as shape [N, 1]; get \`label\` [N, 1] and \`probabilities\` [N, ${k}] (columns in label order: ${input.labels.join(', ')}). ` +
          `${maxRows ? `N is at most ${maxRows} (the model's max_batch_size). ` : ''}Concurrent requests are batched dynamically on the server.`,
        requestBody: { required: true, content: { 'application/json': {
          schema: { $ref: '#/components/schemas/InferRequest' },
          examples: { [`two-${input.modality === 'text' ? 'texts' : 'images'}`]: { summary: `${rows.length} row(s)`, value: {
            id: 'example-1', inputs: [{ name: inputName, datatype: 'BYTES', shape: [rows.length, 1], data: rows }] } } },
        } } },
        responses: {
          '200': { description: 'Predictions', content: { 'application/json': { schema: { $ref: '#/components/schemas/InferResponse' },
            example: exampleResponse(input, rows.length) } } },
          '400': errorResponse(`invalid request (e.g. input must be "${inputName}" with datatype BYTES and shape [N, 1])`),
          '404': errorResponse('unknown model'),
          '413': errorResponse(`request body over ${maxBody} bytes${maxRows ? ` or more than ${maxRows} rows` : ''}`),
          '429': errorResponse('the server is busy (request bytes in flight or queued rows at their limit); retry after the Retry-After seconds'),
          '500': errorResponse('inference failed'),
          '503': errorResponse('model is not ready'),
        },
      } },
      '/metrics': { get: { operationId: 'metrics', summary: 'Prometheus metrics (requests, latency, batch sizes)', responses: {
        '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    },
    components: { schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
      Label: { type: 'string', enum: input.labels },
      InferRequest: {
        type: 'object', required: ['inputs'],
        properties: {
          id: { type: 'string', description: 'Echoed in the response' },
          inputs: { type: 'array', minItems: 1, maxItems: 1, items: {
            type: 'object', required: ['name', 'datatype', 'shape', 'data'],
            properties: {
              name: { const: inputName },
              datatype: { const: 'BYTES' },
              shape: { type: 'array', minItems: 2, maxItems: 2, prefixItems: [{ type: 'integer', minimum: 1, ...(maxRows ? { maximum: maxRows } : {}) }, { const: 1 }],
                description: '[N, 1]: N rows of one string each (max_batch_size > 0 prepends the batch dimension, as in Triton)' },
              data: { type: 'array', items: input.modality === 'text' ? { type: 'string' }
                : { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' }, description: inputDescription },
            } } },
          outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { enum: ['label', 'probabilities'] } } },
            description: 'Optional: which outputs to return (default both)' },
        },
      },
      InferResponse: {
        type: 'object', required: ['model_name', 'outputs'],
        properties: {
          model_name: { const: input.model },
          model_version: { type: 'string' },
          id: { type: 'string' },
          outputs: { type: 'array', items: { oneOf: [
            { type: 'object', required: ['name', 'datatype', 'shape', 'data'], properties: {
              name: { const: 'label' }, datatype: { const: 'BYTES' }, shape: { type: 'array', items: { type: 'integer' } },
              data: { type: 'array', items: { $ref: '#/components/schemas/Label' } } } },
            { type: 'object', required: ['name', 'datatype', 'shape', 'data'], properties: {
              name: { const: 'probabilities' }, datatype: { const: 'FP32' },
              shape: { type: 'array', items: { type: 'integer' }, description: `[N, ${k}]` },
              data: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, description: 'Row-major [N, classes]' } } },
          ] } },
        },
      },
      ModelMetadata: {
        type: 'object',
        properties: { name: { const: input.model }, versions: { type: 'array', items: { type: 'string' } }, platform: { type: 'string' },
          inputs: { type: 'array', items: { $ref: '#/components/schemas/TensorMetadata' } },
          outputs: { type: 'array', items: { $ref: '#/components/schemas/TensorMetadata' } } },
        example: { name: input.model, versions: ['1'], platform: 'onnxruntime_onnx',
          inputs: [{ name: inputName, datatype: 'BYTES', shape: [-1, 1] }],
          outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1, 1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, k] }] },
      },
      TensorMetadata: { type: 'object', required: ['name', 'datatype', 'shape'],
        properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } } },
    } },
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A short Markdown guide: endpoint, curl and Python examples, labels, limits, quality and capacity. */
export function buildGuide(input: ApiDocInput): string {
  const inputName = input.modality === 'text' ? 'text' : 'image';
  const url = `${input.serverUrl}/v2/models/${input.model}/infer`;
  const rows = exampleRows(input);
  const body = JSON.stringify({ inputs: [{ name: inputName, datatype: 'BYTES', shape: [rows.length, 1], data: rows }] });
  const maxRows = maxRowsOf(input);
  const lines = [
    `# ${input.model} — inference API`, '',
    `KServe v2 (Open Inference Protocol) REST. \`POST ${url}\` with input \`${inputName}\` (BYTES, shape [N, 1]` +
      `${input.modality === 'image' ? ', base64 PNG or JPEG' : ', raw strings'}); the response has \`label\` (BYTES [N, 1]) and ` +
      `\`probabilities\` (FP32 [N, ${input.labels.length}], columns in label order). Triton's \`tritonclient\` works as is (binary tensor extension).`, '',
    '## Labels', '', ...input.labels.map((l, i) => `${i}. \`${l}\``), '',
    '## Example', '', '```bash', `curl -s -X POST ${url} -H 'content-type: application/json' \\`, `  -d '${body.replace(/'/g, "'\\''")}'`, '```', '',
    '```python', 'import requests', `rows = ${JSON.stringify(rows)}`,
    `r = requests.post("${url}", json={"inputs": [{"name": "${inputName}", "datatype": "BYTES", "shape": [len(rows), 1], "data": rows}]})`,
    'out = {o["name"]: o["data"] for o in r.json()["outputs"]}', 'print(out["label"])', '```', '',
    '## Limits and errors', '',
    `- Request bodies up to ${input.maxBodyBytes ?? API_MAX_BODY_BYTES} bytes${maxRows ? ` and ${maxRows} rows (the model's max_batch_size)` : ''}; send several rows per request for throughput.`,
    '- Errors are JSON `{"error": "..."}`: 400 bad request, 404 unknown model, 413 body or batch too large, 429 busy (retry after `Retry-After` seconds), 503 not ready, 500 inference failure.',
    `- Health: \`GET ${input.serverUrl}/v2/health/ready\`; metadata: \`GET ${input.serverUrl}/v2/models/${input.model}\`; metrics: \`GET ${input.serverUrl}/metrics\`.`,
  ];
  const metrics = Object.entries(input.metrics ?? {});
  if (metrics.length) lines.push('', '## Quality', '', ...metrics.map(([k, v]) => `- ${k}: ${v <= 1 ? pct(v) : v}`));
  if (input.estimate) {
    const e = input.estimate;
    lines.push('', '## Capacity', '',
      `- ${e.replicas} replica(s), each planned for ${e.perReplicaQps.toFixed(1)} req/s (saturation ${e.saturationQps.toFixed(1)} req/s), ` +
      `p99 target ${e.targetLatencyP99Ms} ms (predicted ${e.predictedLatencyP99Ms.toFixed(1)} ms), ${Math.round(e.memoryBytes / 1e6)} MB per replica, ${e.accelerator}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Build the OpenAPI document, the Markdown guide and a one-line summary. */
export function buildApiDoc(input: ApiDocInput): ApiDoc {
  const inputName = input.modality === 'text' ? 'text' : 'image';
  return {
    openapi: buildOpenApi(input),
    markdown: buildGuide(input),
    summary: `POST ${input.serverUrl}/v2/models/${input.model}/infer with ${inputName} (BYTES [N, 1]) → label (${input.labels.join(' | ')}) and probabilities [N, ${input.labels.length}].`,
  };
}
