import type * as Ort from 'onnxruntime-node';
import { shareTypedArraysWithNode } from './jest-realm.js';
import type { RepositoryModel } from './repository.js';
import { TextTokenizer } from './tokenizer.js';

// Under jest, onnxruntime's typed-array checks fail across realms unless the test realm uses Node's own
// constructors; outside jest this is a no-op. It must run before onnxruntime-common is first evaluated.
shareTypedArraysWithNode();
const ortModule = await import('onnxruntime-node');
// ESM builds export names only; CommonJS interop (jest, tsx) may wrap them in `default`.
const ort: typeof Ort = (ortModule as unknown as { default?: typeof Ort }).default ?? (ortModule as unknown as typeof Ort);

/** One row's prediction. */
export interface Prediction {
  label: string;
  probabilities: Float32Array;
}

/** Model-ready row: a raw string (text) or preprocessed pixels (image). */
export type ModelRow = string | Float32Array;

/**
 * An ONNX classifier with outputs `label` and `probabilities`, running on onnxruntime-node (CPU). Text
 * goes in as strings (scikit-learn graphs) or through the model's tokenizer as `input_ids` and
 * `attention_mask` (torch graphs); images as preprocessed pixels.
 */
export class OnnxClassifier {
  private constructor(
    private readonly session: Ort.InferenceSession,
    private readonly inputName: string,
    private readonly rowShape: number[],
    readonly labels: string[],
    private readonly tokenizer?: TextTokenizer,
  ) {}

  /** Load the repository's ONNX file; `intraOpThreads` bounds the threads each run uses. */
  static async load(model: RepositoryModel, intraOpThreads = 1): Promise<OnnxClassifier> {
    // No CPU arena: what a batch of huge rows needed goes back to the system afterwards, instead of
    // staying with the session for good (an idle server's RSS returns near its start).
    const session = await ort.InferenceSession.create(model.onnxPath, {
      executionProviders: ['cpu'], intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, enableCpuMemArena: false,
    });
    for (const name of ['label', 'probabilities']) {
      if (!session.outputNames.includes(name)) throw new Error(`${model.onnxPath} has no output ${name}`);
    }
    const inputName = session.inputNames[0];
    if (inputName === undefined) throw new Error(`${model.onnxPath} has no input`);
    const img = model.image;
    const rowShape = !img ? [] : img.layout === 'chw' || img.layout === 'nchw' ? [img.channels, img.height, img.width] : [img.channels * img.height * img.width];
    if (!model.tokenizer) return new OnnxClassifier(session, inputName, rowShape, model.labels);
    for (const name of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(name)) throw new Error(`${model.onnxPath} has no input ${name}`);
    }
    const tokenizer = await TextTokenizer.load(model.tokenizer.path, model.tokenizer.maxLength);
    return new OnnxClassifier(session, inputName, rowShape, model.labels, tokenizer);
  }

  private feeds(rows: ModelRow[]): Record<string, Ort.Tensor> {
    const n = rows.length;
    if (this.tokenizer) {
      const batch = this.tokenizer.encodeBatch(rows as string[]);
      return { input_ids: new ort.Tensor('int64', batch.inputIds, batch.dims), attention_mask: new ort.Tensor('int64', batch.attentionMask, batch.dims) };
    }
    if (this.rowShape.length === 0) return { [this.inputName]: new ort.Tensor('string', rows as string[], [n]) };
    const size = this.rowShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n * size);
    rows.forEach((r, i) => data.set(r as Float32Array, i * size));
    return { [this.inputName]: new ort.Tensor('float32', data, [n, ...this.rowShape]) };
  }

  /** Predict a batch of rows in one run. */
  async predict(rows: ModelRow[]): Promise<Prediction[]> {
    const n = rows.length;
    const out = await this.session.run(this.feeds(rows), ['label', 'probabilities']);
    const labels = out.label!.data as string[];
    const probs = out.probabilities!.data as Float32Array;
    const classes = probs.length / Math.max(1, n);
    return Array.from({ length: n }, (_, i) => ({
      label: labels[i]!,
      probabilities: probs.subarray(i * classes, (i + 1) * classes),
    }));
  }

  /** Release the native session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
