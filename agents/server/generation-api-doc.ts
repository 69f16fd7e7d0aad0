import type { Estimate } from './estimate.js';
import { API_MAX_BODY_BYTES } from './api-doc.js';

/** A real example: what the served model returned for a prompt, a seed and a number of steps. */
export interface GenerationExample {
  prompt: string;
  seed: number;
  steps: number;
  /** The PNG, base64; absent when too large to inline (then `file` names it). */
  pngBase64?: string | undefined;
  file: string;
}

/** What the generator's API document describes. */
export interface GenerationApiDocInput {
  model: string;
  serverUrl: string;
  resolution: number;
  defaultSteps: number;
  maxSteps: number;
  maxBatchSize: number;
  example: GenerationExample;
  /** Metrics from real feature extractors (fid, clip-score). */
  metrics?: Record<string, number>;
  /** Labelled proxies, shown as such. */
  proxies?: { name: string; value: number; note: string }[];
  estimate?: Estimate;
  maxBodyBytes?: number;
}

const errorResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { error: description } } },
});

const tensor = (name: string, datatype: string, description: string, items: Record<string, unknown>, maxRows: number) => ({
  type: 'object', required: ['name', 'datatype', 'shape', 'data'], description,
  properties: {
    name: { const: name }, datatype: { const: datatype },
    shape: { type: 'array', minItems: 2, maxItems: 2, prefixItems: [{ type: 'integer', minimum: 1, maximum: maxRows }, { const: 1 }] },
    data: { type: 'array', items },
  },
});

function exampleRequest(input: GenerationApiDocInput): Record<string, unknown> {
  const e = input.example;
  return {
    id: 'example-1',
    inputs: [
      { name: 'prompt', datatype: 'BYTES', shape: [1, 1], data: [e.prompt] },
      { name: 'seed', datatype: 'INT64', shape: [1, 1], data: [e.seed] },
      { name: 'steps', datatype: 'INT32', shape: [1, 1], data: [e.steps] },
    ],
  };
}

/** OpenAPI 3.1 of the generator's KServe v2 endpoint, with the example the served model really returned. */
export function buildGenerationOpenApi(input: GenerationApiDocInput): Record<string, unknown> {
  const base = `/v2/models/${input.model}`;
  const maxBody = input.maxBodyBytes ?? API_MAX_BODY_BYTES;
  const e = input.example;
  const png = e.pngBase64
    ? { example: { model_name: input.model, model_version: '1', id: 'example-1', outputs: [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [e.pngBase64] }] } }
    : { example: { model_name: input.model, model_version: '1', id: 'example-1', outputs: [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [`<base64 PNG: see ${e.file}>`] }] } };
  return {
    openapi: '3.1.0',
    info: {
      title: `${input.model} image generation API`,
      version: '1',
      description: `KServe v2 / Open Inference Protocol REST endpoint of the text-to-image model "${input.model}" (a LoRA fine-tuned in the requested style). ` +
        `Send prompts; get ${input.resolution}×${input.resolution} PNG images, base64-encoded. The same seed, steps and prompt give the same image. ` +
        `At most ${input.maxBatchSize} prompts per request; request bodies up to ${maxBody} bytes.`,
    },
    servers: [{ url: input.serverUrl }],
    paths: {
      '/v2/health/ready': { get: { operationId: 'serverReady', summary: 'Server readiness', responses: {
        '200': { description: 'Ready for inference' }, '503': errorResponse('not ready') } } },
      [base]: { get: { operationId: 'modelMetadata', summary: 'Model metadata: inputs and outputs', responses: {
        '200': { description: 'Model metadata', content: { 'application/json': { example: {
          name: input.model, versions: ['1'], platform: 'python',
          inputs: [{ name: 'prompt', datatype: 'BYTES', shape: [-1, 1] }, { name: 'seed', datatype: 'INT64', shape: [-1, 1] }, { name: 'steps', datatype: 'INT32', shape: [-1, 1] }],
          outputs: [{ name: 'image', datatype: 'BYTES', shape: [-1, 1] }] } } } },
        '404': errorResponse('unknown model') } } },
      [`${base}/infer`]: { post: {
        operationId: 'infer',
        summary: 'Generate images from prompts',
        description: `Send N prompts in \`prompt\` (BYTES [N, 1]); optionally \`seed\` (INT64 [N, 1]; absent: random) and \`steps\` (INT32 [N, 1], 1–${input.maxSteps}, ` +
          `one value for the whole request; absent: ${input.defaultSteps}). Get \`image\` (BYTES [N, 1]): base64 PNGs. Time grows with steps.`,
        requestBody: { required: true, content: { 'application/json': {
          schema: { $ref: '#/components/schemas/InferRequest' },
          examples: { 'one-prompt': { summary: `"${e.prompt}", seed ${e.seed}, ${e.steps} steps`, value: exampleRequest(input) } },
        } } },
        responses: {
          '200': { description: `Images (this example is the real answer of the served model${e.pngBase64 ? '' : `, stored in ${e.file}`})`,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/InferResponse' }, ...png } } },
          '400': errorResponse('invalid request (e.g. prompt must be BYTES [N, 1]; steps out of range)'),
          '404': errorResponse('unknown model'),
          '413': errorResponse(`request body over ${maxBody} bytes or more than ${input.maxBatchSize} prompts`),
          '429': errorResponse('the server is busy; retry after the Retry-After seconds'),
          '500': errorResponse('generation failed'),
          '503': errorResponse('model is not ready'),
        },
      } },
    },
    components: { schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
      InferRequest: {
        type: 'object', required: ['inputs'],
        properties: {
          id: { type: 'string' },
          inputs: { type: 'array', minItems: 1, maxItems: 3, items: { oneOf: [
            tensor('prompt', 'BYTES', 'One prompt per row.', { type: 'string' }, input.maxBatchSize),
            tensor('seed', 'INT64', 'Optional: a seed per row (the same seed gives the same image).', { type: 'integer', minimum: 0 }, input.maxBatchSize),
            tensor('steps', 'INT32', 'Optional: denoising steps, the same for every row.', { type: 'integer', minimum: 1, maximum: input.maxSteps }, input.maxBatchSize),
          ] } },
        },
      },
      InferResponse: {
        type: 'object', required: ['model_name', 'outputs'],
        properties: {
          model_name: { const: input.model }, model_version: { type: 'string' }, id: { type: 'string' },
          outputs: { type: 'array', items: tensor('image', 'BYTES', 'One base64 PNG per prompt.', { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' }, input.maxBatchSize) },
        },
      },
    } },
  };
}

/** The Markdown guide: endpoint, a curl and a Python example, limits, quality (real and proxy, labelled), capacity. */
export function buildGenerationGuide(input: GenerationApiDocInput): string {
  const url = `${input.serverUrl}/v2/models/${input.model}/infer`;
  const body = JSON.stringify(exampleRequest(input));
  const lines = [
    `# ${input.model} — image generation API`, '',
    `KServe v2 REST. \`POST ${url}\` with \`prompt\` (BYTES [N, 1]), optional \`seed\` (INT64 [N, 1]) and \`steps\` (INT32 [N, 1], default ${input.defaultSteps}); ` +
      `the answer's \`image\` (BYTES [N, 1]) holds base64 PNGs of ${input.resolution}×${input.resolution} px.`, '',
    '## Example', '', '```bash',
    `curl -s -X POST ${url} -H 'content-type: application/json' \\`, `  -d '${body.replace(/'/g, "'\\''")}' \\`,
    `  | python3 -c 'import sys, json, base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["outputs"][0]["data"][0]))' > image.png`,
    '```', '',
    `The served model answered this request with \`${input.example.file}\` (seed ${input.example.seed}, ${input.example.steps} steps); the same request gives the same image.`, '',
    '```python', 'import base64, requests',
    `r = requests.post("${url}", json=${body})`,
    'open("image.png", "wb").write(base64.b64decode(r.json()["outputs"][0]["data"][0]))', '```', '',
    '## Limits and errors', '',
    `- At most ${input.maxBatchSize} prompts per request; steps between 1 and ${input.maxSteps}, one value per request.`,
    '- Errors are JSON `{"error": "..."}`: 400 bad request, 404 unknown model, 413 too large, 429 busy (retry after `Retry-After`), 503 not ready, 500 failure.',
  ];
  const metrics = Object.entries(input.metrics ?? {});
  const proxies = input.proxies ?? [];
  if (metrics.length || proxies.length) {
    lines.push('', '## Quality', '', ...metrics.map(([k, v]) => `- ${k}: ${v}`),
      ...proxies.map((p) => `- ${p.name}: ${p.value} — ${p.note}`));
  }
  if (input.estimate) {
    const e = input.estimate;
    lines.push('', '## Capacity', '', `- ${e.replicas} replica(s) on ${e.accelerator}, each planned for ${e.perReplicaQps.toFixed(3)} images/s ` +
      `(saturation ${e.saturationQps.toFixed(3)}), p99 ${(e.predictedLatencyP99Ms / 1000).toFixed(1)} s per image against ${(e.targetLatencyP99Ms / 1000).toFixed(1)} s, ` +
      `${Math.round(e.memoryBytes / 1e6)} MB per replica.`);
  }
  return `${lines.join('\n')}\n`;
}

/** The OpenAPI document, the guide and a one-line summary for status. */
export function buildGenerationApiDoc(input: GenerationApiDocInput): { openapi: Record<string, unknown>; markdown: string; summary: string } {
  return {
    openapi: buildGenerationOpenApi(input),
    markdown: buildGenerationGuide(input),
    summary: `POST ${input.serverUrl}/v2/models/${input.model}/infer with prompt (BYTES [N, 1]), optional seed (INT64) and steps (INT32, default ${input.defaultSteps}) → image (BYTES [N, 1], base64 PNG ${input.resolution}×${input.resolution}).`,
  };
}
