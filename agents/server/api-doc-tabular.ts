import type { TabularFeature, TabularServing } from '../jobs/convert-spec.js';
import { API_MAX_BODY_BYTES, buildOpenApi, type ApiDoc } from './api-doc.js';
import type { Estimate } from './estimate.js';

/** What the API document of a table model describes. */
export interface TabularApiDocInput {
  /** Model name: the `<model>` in `/v2/models/<model>`. */
  model: string;
  /** The served inputs, the task, and a real held-out row with the trained model's answer (the conversion's). */
  serving: TabularServing;
  /** Class names in probability-column order (empty for regression). */
  labels: string[];
  /** Base URL of the server, e.g. `http://127.0.0.1:8000`. */
  serverUrl: string;
  metrics?: Record<string, number>;
  estimate?: Estimate;
  maxBodyBytes?: number;
  maxRowsPerRequest?: number;
}

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { error: description } } },
});

/** How a feature's values look in words. */
const valueWords = (f: TabularFeature): string => (f.kind === 'numeric' ? 'a number (NaN when missing)' : 'a category as a string ("" when missing)');

/** The example row's value for a feature as JSON can carry it (a missing number has no JSON form: 0 stands in, and the guide says so). */
function exampleValue(f: TabularFeature, serving: TabularServing): number | string {
  const v = serving.example.features[f.name];
  if (f.datatype === 'FP32') return typeof v === 'number' ? v : 0;
  return typeof v === 'string' ? v : '';
}

/** The example request: one input per feature, one row (the real held-out row). */
export function exampleRequest(input: TabularApiDocInput): Record<string, unknown> {
  return {
    id: 'example-1',
    inputs: input.serving.features.map((f) => ({ name: f.name, datatype: f.datatype, shape: [1, 1], data: [exampleValue(f, input.serving)] })),
  };
}

/** The trained model's answer to the example row, as the endpoint returns it. */
export function exampleResponse(input: TabularApiDocInput): Record<string, unknown> {
  const e = input.serving.example;
  const outputs = input.serving.task === 'regression'
    ? [{ name: 'prediction', datatype: 'FP32', shape: [1, 1], data: [Math.round((e.prediction ?? 0) * 1e4) / 1e4] }]
    : [{ name: 'label', datatype: 'BYTES', shape: [1, 1], data: [e.label ?? input.labels[0] ?? ''] },
       { name: 'probabilities', datatype: 'FP32', shape: [1, input.labels.length], data: (e.probabilities ?? []).map((p) => Math.round(p * 1e4) / 1e4) }];
  return { model_name: input.model, model_version: '1', id: 'example-1', outputs };
}

/** OpenAPI 3.1 document of a table model's KServe v2 endpoint: one input per feature, typed and named. */
export function buildTabularOpenApi(input: TabularApiDocInput): Record<string, unknown> {
  const regression = input.serving.task === 'regression';
  const maxRows = input.maxRowsPerRequest ?? input.estimate?.maxBatchSize;
  const maxBody = input.maxBodyBytes ?? API_MAX_BODY_BYTES;
  const doc = buildOpenApi({ model: input.model, labels: input.labels, modality: 'text', serverUrl: input.serverUrl, maxBodyBytes: maxBody,
    ...(maxRows !== undefined ? { maxRowsPerRequest: maxRows } : {}) }) as { info: Record<string, unknown>; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  const features = input.serving.features;
  const k = input.labels.length;
  const base = `/v2/models/${input.model}`;
  const outputsText = regression ? '`prediction` (FP32 [N, 1])' : `\`label\` (BYTES [N, 1]) and \`probabilities\` (FP32 [N, ${k}], columns in label order: ${input.labels.join(', ')})`;
  doc.info.description = `KServe v2 / Open Inference Protocol REST endpoint of the table ${regression ? 'regression model' : 'classifier'} "${input.model}". ` +
    `It takes one input per feature, each of shape [N, 1] (${features.length} inputs: ${features.map((f) => `${f.name} ${f.datatype}`).join(', ')}) and answers ${outputsText}. ` +
    `A missing or unknown input, a wrong datatype and a non-numeric FP32 value are answered 400 naming the feature. Request bodies up to ${maxBody} bytes` +
    `${maxRows ? `, at most ${maxRows} rows per request` : ''}. JSON, or Triton's binary tensor extension (needed for NaN, a missing number).`;
  doc.paths[`${base}/infer`] = { post: {
    operationId: 'infer',
    summary: regression ? 'Predict a number for each row' : 'Classify each row',
    description: `Send N rows as one input per feature, each [N, 1]; get ${outputsText}.${maxRows ? ` N is at most ${maxRows} (the model's max_batch_size).` : ''} Concurrent requests are batched dynamically on the server.`,
    requestBody: { required: true, content: { 'application/json': {
      schema: { $ref: '#/components/schemas/InferRequest' },
      examples: { 'a-held-out-row': { summary: 'A real row of the held-out data', value: exampleRequest(input) } },
    } } },
    responses: {
      '200': { description: 'Predictions', content: { 'application/json': { schema: { $ref: '#/components/schemas/InferResponse' }, example: exampleResponse(input) } } },
      '400': errorResponse('invalid request: the message names the feature (e.g. missing input "age" (FP32 [N, 1], a number), or input "city" must have datatype BYTES)'),
      '404': errorResponse('unknown model'),
      '413': errorResponse(`request body over ${maxBody} bytes${maxRows ? ` or more than ${maxRows} rows` : ''}`),
      '429': errorResponse('the server is busy (request bytes in flight or queued rows at their limit); retry after the Retry-After seconds'),
      '500': errorResponse('inference failed'),
      '503': errorResponse('model is not ready'),
    },
  } };
  const featureInput = (f: TabularFeature) => ({
    type: 'object', required: ['name', 'datatype', 'shape'],
    description: `${f.name}: ${valueWords(f)}, from column "${f.column}"`,
    properties: {
      name: { const: f.name }, datatype: { const: f.datatype },
      shape: { type: 'array', minItems: 2, maxItems: 2, prefixItems: [{ type: 'integer', minimum: 1, ...(maxRows ? { maximum: maxRows } : {}) }, { const: 1 }] },
      data: { type: 'array', items: f.datatype === 'FP32' ? { type: 'number' } : { type: 'string' } },
      parameters: { type: 'object', properties: { binary_data_size: { type: 'integer', minimum: 0 } } },
    },
  });
  const schemas = doc.components.schemas;
  schemas.Feature = { oneOf: features.map(featureInput) };
  schemas.InferRequest = {
    type: 'object', required: ['inputs'],
    properties: {
      id: { type: 'string', description: 'Echoed in the response' },
      inputs: { type: 'array', minItems: features.length, maxItems: features.length, items: { $ref: '#/components/schemas/Feature' },
        description: `One tensor per feature, all with the same N: ${features.map((f) => f.name).join(', ')}` },
      outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { enum: regression ? ['prediction'] : ['label', 'probabilities'] } } },
        description: 'Optional: which outputs to return (default all)' },
    },
  };
  schemas.InferResponse = {
    type: 'object', required: ['model_name', 'outputs'],
    properties: { model_name: { const: input.model }, model_version: { type: 'string' }, id: { type: 'string' },
      outputs: { type: 'array', items: regression
        ? { type: 'object', properties: { name: { const: 'prediction' }, datatype: { const: 'FP32' }, shape: { type: 'array', items: { type: 'integer' } }, data: { type: 'array', items: { type: 'number' } } } }
        : { oneOf: [
          { type: 'object', properties: { name: { const: 'label' }, datatype: { const: 'BYTES' }, data: { type: 'array', items: { $ref: '#/components/schemas/Label' } } } },
          { type: 'object', properties: { name: { const: 'probabilities' }, datatype: { const: 'FP32' }, data: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 } } } },
        ] } } },
  };
  if (regression) delete schemas.Label;
  (schemas.ModelMetadata as Record<string, unknown>).example = {
    name: input.model, versions: ['1'], platform: 'onnxruntime_onnx',
    inputs: features.map((f) => ({ name: f.name, datatype: f.datatype, shape: [-1, 1] })),
    outputs: regression ? [{ name: 'prediction', datatype: 'FP32', shape: [-1, 1] }]
      : [{ name: 'label', datatype: 'BYTES', shape: [-1, 1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, k] }],
  };
  return doc;
}

/** A metric as a reader expects it: ratios as percentages, errors in the target's unit, R² as it is. */
function formatMetric(name: string, value: number): string {
  if (name === 'mae' || name === 'rmse') return value.toFixed(3);
  if (name === 'r2') return value.toFixed(3);
  return `${(value * 100).toFixed(1)}%`;
}

/** A Markdown guide: the features and their types, a real row as curl and Python, outputs, errors, quality, capacity. */
export function buildTabularGuide(input: TabularApiDocInput): string {
  const regression = input.serving.task === 'regression';
  const url = `${input.serverUrl}/v2/models/${input.model}/infer`;
  const body = JSON.stringify(exampleRequest(input));
  const features = input.serving.features;
  const e = input.serving.example;
  const missingNumber = features.some((f) => f.datatype === 'FP32' && typeof e.features[f.name] !== 'number');
  const maxRows = input.maxRowsPerRequest ?? input.estimate?.maxBatchSize;
  const lines = [
    `# ${input.model} — inference API`, '',
    `KServe v2 (Open Inference Protocol) REST. \`POST ${url}\` with one input per feature, each of shape [N, 1] (the same N for all): ` +
      `FP32 for numbers, BYTES (strings) for categories. The response has ${regression ? '`prediction` (FP32 [N, 1])' : `\`label\` (BYTES [N, 1]) and \`probabilities\` (FP32 [N, ${input.labels.length}], columns in label order)`}. ` +
      "Triton's `tritonclient` works as is (binary tensor extension).", '',
    '## Features', '',
    '| input | datatype | kind | source column |', '|---|---|---|---|',
    ...features.map((f) => `| \`${f.name}\` | ${f.datatype} | ${f.kind} | ${f.column} |`), '',
    'Missing values: a missing number is NaN — JSON has no NaN, so send it with the binary tensor extension (tritonclient does this for numpy arrays); ' +
      'a missing category is `""`. A category not seen in training is treated like a missing one.', '',
    ...(regression ? [] : ['## Labels', '', ...input.labels.map((l, i) => `${i}. \`${l}\``), '']),
    '## Example: a real held-out row', '',
    ...(e.truth !== undefined && e.truth !== null ? [`Its recorded ${regression ? 'value' : 'label'} is \`${e.truth}\`; the model answers ${regression ? `\`${(e.prediction ?? 0).toFixed(3)}\`` : `\`${e.label}\``}.`, ''] : []),
    ...(missingNumber ? ['(This row has a missing number; the JSON example sends 0 in its place. Send NaN with binary data to mean "missing".)', ''] : []),
    '```bash', `curl -s -X POST ${url} -H 'content-type: application/json' \\`, `  -d '${body.replace(/'/g, "'\\''")}'`, '```', '',
    '```python', 'import numpy as np', 'import tritonclient.http as http', '',
    `row = ${JSON.stringify(Object.fromEntries(features.map((f) => [f.name, exampleValue(f, input.serving)])))}`,
    `types = ${JSON.stringify(Object.fromEntries(features.map((f) => [f.name, f.datatype])))}`,
    `client = http.InferenceServerClient("${input.serverUrl.replace(/^https?:\/\//, '')}")`,
    'inputs = []', 'for name, value in row.items():',
    '    array = np.array([[value]], dtype=np.float32 if types[name] == "FP32" else object)',
    '    tensor = http.InferInput(name, [1, 1], types[name])', '    tensor.set_data_from_numpy(array)', '    inputs.append(tensor)',
    `result = client.infer("${input.model}", inputs)`,
    regression ? 'print(result.as_numpy("prediction"))' : 'print(result.as_numpy("label"), result.as_numpy("probabilities"))', '```', '',
    '## Limits and errors', '',
    `- Request bodies up to ${input.maxBodyBytes ?? API_MAX_BODY_BYTES} bytes${maxRows ? ` and ${maxRows} rows (the model's max_batch_size)` : ''}; send several rows per request for throughput.`,
    '- A missing or unknown feature input, a wrong datatype, a wrong shape or a non-numeric FP32 value is answered 400 with the feature\'s name.',
    '- Errors are JSON `{"error": "..."}`: 400 bad request, 404 unknown model, 413 body or batch too large, 429 busy (retry after `Retry-After` seconds), 503 not ready, 500 inference failure.',
    `- Health: \`GET ${input.serverUrl}/v2/health/ready\`; metadata: \`GET ${input.serverUrl}/v2/models/${input.model}\`; metrics: \`GET ${input.serverUrl}/metrics\`.`,
  ];
  const metrics = Object.entries(input.metrics ?? {});
  if (metrics.length) lines.push('', '## Quality', '', ...metrics.map(([k, v]) => `- ${k}: ${formatMetric(k, v)}`));
  if (input.estimate) {
    const est = input.estimate;
    lines.push('', '## Capacity', '',
      `- ${est.replicas} replica(s), each planned for ${est.perReplicaQps.toFixed(1)} req/s (saturation ${est.saturationQps.toFixed(1)} req/s), ` +
      `p99 target ${est.targetLatencyP99Ms} ms (predicted ${est.predictedLatencyP99Ms.toFixed(1)} ms), ${Math.round(est.memoryBytes / 1e6)} MB per replica, ${est.accelerator}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** The OpenAPI document, the Markdown guide and a one-line summary of a table model's endpoint. */
export function buildTabularApiDoc(input: TabularApiDocInput): ApiDoc {
  const regression = input.serving.task === 'regression';
  const names = input.serving.features.map((f) => `${f.name} ${f.datatype}`);
  return {
    openapi: buildTabularOpenApi(input),
    markdown: buildTabularGuide(input),
    summary: `POST ${input.serverUrl}/v2/models/${input.model}/infer with ${names.length} feature inputs [N, 1] (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''}) → ` +
      (regression ? 'prediction (FP32 [N, 1]).' : `label (${input.labels.join(' | ')}) and probabilities [N, ${input.labels.length}].`),
  };
}
