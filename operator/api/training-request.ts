import { z } from 'zod';
import { BOUNDS, BoundedConstraints, BoundedObjective, BoundedServingTargets } from '../../agents/task/bounds.js';
import { TaskSpec } from '../../agents/task/task-spec.js';
import { Plan } from '../../agents/task/plan.js';
import { ConversationTurn } from '../../agents/brain/memory.js';
import { DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN } from './names.js';

/** API group, version and names of the TrainingRequest custom resource. */
export const GROUP = 'traineragent.io';
export const VERSION = 'v1alpha1';
export const KIND = 'TrainingRequest';
export const PLURAL = 'trainingrequests';
export const SINGULAR = 'trainingrequest';
export const SHORT_NAMES = ['treq'];
export const CATEGORIES = ['ml'];

/** CEL rules travel as metadata; the CRD generator copies them into the OpenAPI schema. */
const cel = (...rules: { rule: string; message: string }[]) => ({ 'x-kubernetes-validations': rules });

const dnsLabel = z.string().min(1).max(DNS1123_LABEL_MAX_LENGTH).regex(new RegExp(DNS1123_LABEL_PATTERN));

/** A reference to one key of a Secret in the request's namespace. Values never reach status. */
export const SecretKeyRef = z.strictObject({
  name: dnsLabel.describe('Secret name, same namespace as the request.'),
  key: z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/).optional().describe('Key in the Secret (default depends on the use).'),
});
export type SecretKeyRef = z.infer<typeof SecretKeyRef>;

/** Where data lives. Local mode accepts file:; clusters use pvc:, s3:, https: and configmap:. */
export const DATA_URI_PATTERN = '^(file:|pvc://|s3://|https://|configmap://)\\S+$';

/** One data source. */
export const DataSource = z.strictObject({
  name: dnsLabel,
  uri: z.string().min(6).max(2048).regex(new RegExp(DATA_URI_PATTERN)),
  format: z.enum(['csv', 'jsonl', 'imagefolder', 'parquet', 'coco']).describe('parquet: tables (tabular tasks); csv and jsonl hold texts or tables; coco: COCO-style JSON (images, annotations with bbox, categories) for detection and grounding; jsonl for grounding holds {image, query, box} lines'),
  role: z.enum(['train', 'eval', 'test', 'unlabelled']).default('train'),
  textColumn: z.string().min(1).max(128).default('text'),
  labelColumn: z.string().min(1).max(128).default('label'),
  credentialsSecretRef: SecretKeyRef.optional(),
});
export type DataSource = z.infer<typeof DataSource>;

/** User overrides that win over what the Task agent parsed. */
export const Overrides = z.strictObject({
  objectives: z.array(BoundedObjective).max(16).optional(),
  constraints: BoundedConstraints.optional(),
  serving: BoundedServingTargets.optional(),
  deployBestAttempt: z.boolean().optional().describe('Deploy the best attempt even when the target was missed.'),
});
export type Overrides = z.infer<typeof Overrides>;

/** OpenAI-compatible LLM settings; without them the offline brain thinks. */
export const LlmSettings = z.strictObject({
  model: z.string().min(1).max(200),
  baseURL: z.string().url().max(2048).optional(),
  apiKeySecretRef: SecretKeyRef.optional(),
  timeoutSeconds: z.number().int().min(1).max(600).optional(),
});
export type LlmSettings = z.infer<typeof LlmSettings>;

/** Compute the agents may spend. */
export const Budget = z.strictObject({
  maxAttempts: z.number().int().min(1).max(BOUNDS.attempts).default(4),
  maxGpuHours: z.number().min(0).max(BOUNDS.gpuHours).optional(),
  deadline: z.string().datetime().optional(),
});
export type Budget = z.infer<typeof Budget>;

/** Kubernetes toleration (subset used for scheduling training onto GPU nodes). */
export const Toleration = z.strictObject({
  key: z.string().max(253).optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

/** Where training runs. Bounded here so no requirement text can ask for more. */
export const Resources = z.strictObject({
  gpu: z
    .strictObject({
      type: z.string().max(63).optional().describe('Value of the nvidia.com/gpu.product node label.'),
      count: z.number().int().min(0).max(BOUNDS.gpusPerNode).optional().describe('GPUs per node (one pod) of a torch training job; absent: the Model agent decides (1 for small jobs). 0 trains on CPUs.'),
    })
    .optional()
    .describe('Train torch models on GPUs; absent: on CPUs.'),
  nodes: z.number().int().min(1).max(BOUNDS.nodes).optional().describe('Nodes a torch training job spans (torchrun on each, DistributedDataParallel across); absent: the Model agent decides.'),
  queueName: dnsLabel.optional().describe('Kueue LocalQueue for the Jobs (label kueue.x-k8s.io/queue-name); absent: the chart default, if any.'),
  nodeSelector: z.record(z.string().max(317), z.string().max(63)).optional(),
  tolerations: z.array(Toleration).max(16).optional(),
});
export type Resources = z.infer<typeof Resources>;

/**
 * Where artifacts go in a cluster: a PersistentVolumeClaim (ReadWriteMany when jobs land on several
 * nodes), the one store jobs, Triton and the operator all read and write.
 */
export const Storage = z.strictObject({
  pvc: z.strictObject({ claimName: dnsLabel, subPath: z.string().max(512).optional() }).optional(),
});
export type Storage = z.infer<typeof Storage>;

/** A weights reference a job resolves: `hub:<org>/<name>`, or a path (absolute, or relative to the artifact volume). */
const WEIGHTS_REFERENCE = /^(hub:[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*|[^\s:]+)$/;

/**
 * Image generation: which model to fine-tune and serve, and the feature extractors its evaluation may
 * use. Every field is optional; without `baseModel` the catalog's Stable Diffusion model is used.
 */
export const GenerationSettings = z.strictObject({
  baseModel: z.string().min(1).max(2048).regex(WEIGHTS_REFERENCE).optional()
    .describe('The model the LoRA fine-tunes: hub:<org>/<name>, a diffusers folder on the artifact volume, or "tiny" (a from-config model for tests and demos, not for real pictures).'),
  resolution: z.number().int().min(16).max(2048).multipleOf(8).optional().describe('Training and serving resolution in pixels (default: the model\'s).'),
  steps: z.number().int().min(1).max(200).optional().describe('Denoising steps per served image by default; the estimate is measured at this value.'),
  trainingSteps: z.number().int().min(1).max(100_000).optional().describe('LoRA optimizer steps of the first attempt (default: the model\'s).'),
  evaluation: z.strictObject({
    inceptionWeights: z.string().min(1).max(2048).regex(WEIGHTS_REFERENCE).optional()
      .describe("FID: torch-fidelity's Inception-v3 weights file (pt_inception-2015-12-05-6726825d.pth). Without it FID is not computed."),
    clipModel: z.string().min(1).max(2048).regex(WEIGHTS_REFERENCE).optional()
      .describe('CLIP score: a CLIP model folder (e.g. openai/clip-vit-large-patch14 saved with save_pretrained) or hub:<id>. Without it no CLIP score.'),
  }).optional(),
});
export type GenerationSettings = z.infer<typeof GenerationSettings>;

/** The user's side of the resource. The operator never writes it. */
export const TrainingRequestSpec = z
  .strictObject({
    requirement: z
      .string()
      .min(1)
      .max(8192)
      .describe('What the user needs, in plain language. Immutable.')
      .meta(cel({ rule: 'self == oldSelf', message: 'requirement is immutable; create a new TrainingRequest' })),
    data: z.array(DataSource).max(32).optional(),
    messages: z
      .array(z.string().min(1).max(4096))
      .max(64)
      .optional()
      .describe("The user's turns of the conversation, append-only.")
      .meta(cel({ rule: 'size(self) >= size(oldSelf)', message: 'messages are append-only' })),
    overrides: Overrides.optional(),
    llm: LlmSettings.optional(),
    budget: Budget.optional(),
    approval: z.enum(['auto', 'plan']).default('auto'),
    approvedPlan: z.string().regex(/^[a-f0-9]{8,64}$/).optional().describe('status.plan.hash of the plan the user approves.'),
    serving: z
      .strictObject({
        enabled: z.boolean().default(true),
        platform: z.enum(['triton', 'local']).optional(),
      })
      .optional(),
    resources: Resources.optional(),
    storage: Storage.optional(),
    generation: GenerationSettings.optional().describe('Image generation only: base model, resolution, steps and evaluation weights.'),
    suspend: z.boolean().optional(),
  })
  .meta(
    cel({
      rule: "!has(self.approvedPlan) || (has(self.approval) && self.approval == 'plan')",
      message: 'approvedPlan only applies with approval: plan',
    }),
  );
export type TrainingRequestSpec = z.infer<typeof TrainingRequestSpec>;

/** Condition types the operator sets. */
export const CONDITION_TYPES = [
  'Ready', 'Reconciling', 'Stalled', 'AwaitingInput',
  'RequirementParsed', 'Planned', 'DataPrepared', 'Trained', 'TargetMet', 'Converted', 'Deployed',
] as const;

/** A standard Kubernetes condition (metav1.Condition). */
export const Condition = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
  lastTransitionTime: z.string().datetime(),
  observedGeneration: z.number().int().min(0).optional(),
});
export type Condition = z.infer<typeof Condition>;

export const PHASES = [
  'Pending', 'Parsing', 'Planning', 'AwaitingInput', 'PreparingData', 'Training', 'Evaluating',
  'Converting', 'Deploying', 'Ready', 'Failed', 'Rejected',
] as const;
export const Phase = z.enum(PHASES);
export type Phase = z.infer<typeof Phase>;

const metricMap = z.record(z.string(), z.number());

/** One training attempt, as the Model agent records it. */
export const AttemptStatus = z.object({
  n: z.number().int().min(1),
  model: z.string(),
  parameters: z.number().int().min(0).optional(),
  metrics: metricMap.default({}),
  interval: z.record(z.string(), z.array(z.number()).length(2)).optional().describe('95% intervals of the metrics over the scored rows.'),
  evaluation: z.object({
    method: z.enum(['holdout', 'cross-validation']),
    rows: z.number().int().min(0),
    folds: z.number().int().optional(),
  }).optional().describe('How the metrics were measured: on a locked test split, or on every fold\'s test rows.'),
  progress: z.object({
    step: z.number().int().min(0),
    total: z.number().int().min(0),
    loss: z.number().optional(),
    samplesPerSecond: z.number().min(0).optional(),
    etaSeconds: z.number().min(0).optional(),
  }).optional().describe('Latest progress of a running attempt.'),
  durationSeconds: z.number().min(0).optional(),
  note: z.string().max(2000).optional(),
  seed: z.number().int().optional(),
  state: z.enum(['Running', 'Succeeded', 'Failed']),
  artifacts: z.string().max(2048).optional().describe('Where the attempt wrote its model, metrics and plots.'),
});
export type AttemptStatus = z.infer<typeof AttemptStatus>;

/** The model that is (or will be) served. */
export const ModelStatus = z.object({
  name: z.string(),
  attempt: z.number().int().min(1).optional(),
  parameters: z.number().int().min(0).optional(),
  sizeBytes: z.number().int().min(0).optional(),
  format: z.string().optional(),
  metrics: metricMap.default({}),
  uri: z.string().optional(),
  lineage: z
    .object({
      dataDigest: z.string().optional(),
      seed: z.number().int().optional(),
      packages: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

/** The Server agent's sizing, with its reasoning. */
export const EstimateStatus = z.object({
  replicas: z.number().int().min(0),
  perReplicaQps: z.number().min(0),
  saturationQps: z.number().min(0),
  targetLatencyP99Ms: z.number().min(0),
  predictedLatencyP99Ms: z.number().min(0),
  memoryBytes: z.number().int().min(0),
  accelerator: z.string(),
  instances: z.number().int().min(1).optional(),
  maxBatchSize: z.number().int().min(1).optional(),
  reasoning: z.array(z.string()).default([]),
  reliable: z.boolean().optional().describe('False when the measurement windows did not agree: the numbers may move on a rerun.'),
  measurementSpread: z.number().min(0).optional().describe('Largest relative spread between the measurement windows (0.1 = 10%).'),
});

/** Observed state, written only by the operator (or the local runner). */
export const TrainingRequestStatus = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z
    .array(Condition)
    .max(32)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  phase: Phase.optional(),
  metric: z.string().max(256).optional().describe('Headline metric of the current model, e.g. "accuracy 0.987 (target >= 0.98)".'),
  task: TaskSpec.optional(),
  plan: Plan.optional(),
  question: z.string().max(4096).optional(),
  conversation: z.array(ConversationTurn).max(100).optional(),
  data: z
    .object({
      digest: z.string().optional(),
      summary: z.string().max(4096).optional(),
      counts: z.record(z.string(), z.number().int().min(0)).optional(),
      labelIssues: z.number().int().min(0).optional(),
      reportUri: z.string().optional(),
    })
    .optional(),
  attempts: z.array(AttemptStatus).max(50).optional(),
  model: ModelStatus.optional(),
  estimate: EstimateStatus.optional(),
  endpoint: z
    .object({ url: z.string(), protocol: z.literal('kserve-v2'), model: z.string() })
    .optional(),
  apiDoc: z.object({ uri: z.string(), summary: z.string().max(4096) }).optional(),
  reportUri: z.string().optional(),
  brain: z
    .object({
      kind: z.enum(['offline', 'llm']).describe('The brain configured: the offline one, or an LLM.'),
      model: z.string().optional(),
      answeredBy: z.enum(['offline', 'llm']).optional().describe('Which brain answered the Task agent.'),
      fallbackReason: z.string().max(1024).optional().describe('Why the offline brain answered although an LLM is configured.'),
      offlineReader: z.string().max(200).optional().describe('How the offline brain read the requirement (sentence encoder, character n-grams or rules).'),
      offlineReaderNote: z.string().max(1024).optional(),
      notes: z.array(z.string().max(1024)).max(20).optional().describe('What reconciling the two brains kept, dropped or asked about.'),
      decisions: z
        .array(
          z.object({
            agent: z.enum(['task', 'data', 'model', 'server']),
            decision: z.string().max(63),
            answeredBy: z.enum(['offline', 'llm']),
            fallbackReason: z.string().max(1024).optional(),
            key: z.string().max(64).optional().describe('Hash of the decision input: the same input reuses the decision.'),
            value: z.string().max(4096).optional().describe('The decision as JSON, after bounds checks.'),
          }),
        )
        .max(20)
        .optional()
        .describe('Every agent decision the brain made, which brain answered it, and why it fell back.'),
      tokens: z.object({ prompt: z.number().int(), completion: z.number().int() }).optional(),
    })
    .optional(),
});
export type TrainingRequestStatus = z.infer<typeof TrainingRequestStatus>;

/** Object metadata fields the pipeline reads. */
export const ObjectMeta = z
  .object({
    name: dnsLabel,
    namespace: dnsLabel.default('default'),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    finalizers: z.array(z.string()).optional(),
  })
  .passthrough();

/** The whole resource. Unknown fields anywhere in the spec are refused with their path, not dropped. */
export const TrainingRequest = z.strictObject({
  apiVersion: z.literal(`${GROUP}/${VERSION}`),
  kind: z.literal(KIND),
  metadata: ObjectMeta,
  spec: TrainingRequestSpec,
  status: TrainingRequestStatus.optional(),
});
export type TrainingRequest = z.infer<typeof TrainingRequest>;
