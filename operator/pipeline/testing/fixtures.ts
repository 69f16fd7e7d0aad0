import type { DataJobResult } from '../../../agents/jobs/data-spec.js';
import type { ConvertJobResult } from '../../../agents/jobs/convert-spec.js';
import type { TrainJobResult } from '../../../agents/jobs/train-spec.js';
import type { TrainingRequest } from '../../api/training-request.js';
import type { Observed } from '../types.js';

/** A TrainingRequest for pipeline tests. */
export function requestFixture(spec: Partial<TrainingRequest['spec']> = {}, status?: TrainingRequest['status']): TrainingRequest {
  return {
    apiVersion: 'traineragent.io/v1alpha1',
    kind: 'TrainingRequest',
    metadata: { name: 'spam', namespace: 'default', generation: 1 },
    spec: {
      requirement: 'Classify emails as spam or ham with accuracy >= 98%.',
      data: [{ name: 'mails', uri: 'file:mails.jsonl', format: 'jsonl', role: 'train', textColumn: 'text', labelColumn: 'label' }],
      approval: 'auto',
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

/** What a backend observes before anything ran. */
export function observedFixture(patch: Partial<Observed> = {}): Observed {
  return {
    artifactRoot: '/artifacts/default/spam',
    sources: [{ name: 'mails', role: 'train', digest: 'sha256:aaa', location: '/data/mails.jsonl' }],
    jobs: {},
    gpuAvailable: false,
    frameworks: ['sklearn'],
    ...patch,
  };
}

/** A data job result with `train` rows in two balanced classes. */
export function dataResultFixture(train = 4000, test = 1000, unlabelled = 0): DataJobResult {
  return {
    kind: 'data',
    digest: `sha256:${'b'.repeat(64)}`,
    outDir: '/artifacts/default/spam/jobs/data',
    files: { train: 'train.jsonl', test: 'test.jsonl' },
    profile: {
      rows: { loaded: train + test + unlabelled, train, test, unlabelled },
      classes: [
        { label: 'ham', train: train / 2, test: test / 2 },
        { label: 'spam', train: train / 2, test: test / 2 },
      ],
      minorityRatio: 1,
      duplicates: { exact: 0, near: 0, removed: 0 },
      leakage: { exact: 0, near: 0 },
      evaluation: { method: 'holdout', rows: test, reason: `the locked test split has ${test} rows` },
      invalidRows: 0,
    },
    operationsApplied: ['clean', 'dedupe'],
    warnings: [],
    durationSeconds: 1,
    seed: 0,
    packageVersions: {},
  };
}

/** A train job result with the given accuracy against a >= target. */
export function trainResultFixture(modelId: string, accuracy: number, target = 0.98, modelDir = `/artifacts/default/spam/jobs/${modelId}/model`): TrainJobResult {
  return {
    kind: 'train',
    modelId,
    family: 'sklearn-tfidf-logreg',
    metrics: { accuracy, f1: accuracy },
    intervals: {},
    evaluation: { method: 'holdout', rows: 1000 },
    objectives: [{ metric: 'accuracy', op: '>=', value: target, measured: accuracy, met: accuracy >= target }],
    objectivesMet: accuracy >= target,
    parameters: 20000,
    modelBytes: 400000,
    trainRows: 4000,
    pseudoLabelledRows: 0,
    durationSeconds: 3,
    seed: 0,
    perClass: [],
    confusionMatrix: { labels: ['ham', 'spam'], matrix: [[1, 0], [0, 1]] },
    plots: [],
    modelDir,
    packageVersions: {},
  };
}

/** A conversion result with a measured serving profile. */
export function convertResultFixture(repositoryDir = '/artifacts/default/spam/jobs/convert/model-repository'): ConvertJobResult {
  return {
    kind: 'convert',
    ok: true,
    modelName: 'spam',
    framework: 'sklearn',
    task: 'text-classification',
    modality: 'text',
    inputName: 'text',
    labels: ['ham', 'spam'],
    rows: { source: 'test.jsonl', count: 500 },
    parity: { rows: 500, maxAbsProbDiff: 1e-6, labelAgreement: 1, passed: true },
    precision: 'fp32',
    runtime: 'onnxruntime',
    tensorrt: { available: false, note: 'no GPU' },
    accuracy: { onnx: 0.99, reference: 0.99 },
    variants: [],
    format: 'onnx',
    modelBytes: 400000,
    repositoryDir,
    modelDir: '/artifacts/default/spam/jobs/train/model',
    onnxPath: `${repositoryDir}/spam/1/model.onnx`,
    repositoryFiles: [],
    referencePredictions: 'reference.jsonl',
    triton: { instances: 1, maxBatchSize: 32, queueDelayUs: 500, accelerator: 'cpu' },
    benchmark: { saturationQps: 2000, peakRssBytes: 150e6 },
    profile: { source: 'test', accelerator: 'cpu', instances: 1, maxBatchSize: 32, serviceTimeMs: 1, serviceTimeP99Ms: 2, serviceTimeCv: 1, saturationQps: 800, peakRssBytes: 150e6 },
    notes: [],
    durationSeconds: 2,
  };
}
