import type * as Ort from 'onnxruntime-node';
import { shareTypedArraysWithNode } from './jest-realm.js';
import type { RepositoryModel } from './repository.js';

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

/** An ONNX classifier with outputs `label` and `probabilities`, running on onnxruntime-node (CPU). */
export class OnnxClassifier {
  private constructor(
    private readonly session: Ort.InferenceSession,
    private readonly inputName: string,
    private readonly rowShape: number[],
    readonly labels: string[],
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
    return new OnnxClassifier(session, inputName, rowShape, model.labels);
  }

  /** Predict a batch of rows in one run. */
  async predict(rows: ModelRow[]): Promise<Prediction[]> {
    const n = rows.length;
    let tensor: Ort.Tensor;
    if (this.rowShape.length === 0) {
      tensor = new ort.Tensor('string', rows as string[], [n]);
    } else {
      const size = this.rowShape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n * size);
      rows.forEach((r, i) => data.set(r as Float32Array, i * size));
      tensor = new ort.Tensor('float32', data, [n, ...this.rowShape]);
    }
    const out = await this.session.run({ [this.inputName]: tensor }, ['label', 'probabilities']);
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
