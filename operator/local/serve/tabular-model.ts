import type * as Ort from 'onnxruntime-node';
import { shareTypedArraysWithNode } from './jest-realm.js';
import type { TabularModelInfo, TabularPrediction, TabularRow } from './tabular-protocol.js';

shareTypedArraysWithNode();
const ortModule = await import('onnxruntime-node');
const ort: typeof Ort = (ortModule as unknown as { default?: typeof Ort }).default ?? (ortModule as unknown as typeof Ort);

/**
 * A table model's ONNX graph on onnxruntime-node (CPU): one [N, 1] input per feature (float32, or
 * strings), `label` and `probabilities` out for a classifier, `prediction` for a regressor. The
 * column preprocessing is inside the graph, so rows go in as clients send them.
 */
export class TabularOnnxModel {
  private constructor(private readonly session: Ort.InferenceSession, private readonly info: TabularModelInfo) {}

  /** Load the graph and check it takes every feature and answers the task's outputs. */
  static async load(onnxPath: string, info: TabularModelInfo, intraOpThreads = 1): Promise<TabularOnnxModel> {
    const session = await ort.InferenceSession.create(onnxPath, {
      executionProviders: ['cpu'], intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, enableCpuMemArena: false,
    });
    for (const f of info.tabular.features) {
      if (!session.inputNames.includes(f.name)) throw new Error(`${onnxPath} has no input ${f.name}`);
    }
    const outputs = info.tabular.task === 'regression' ? ['prediction'] : ['label', 'probabilities'];
    for (const name of outputs) {
      if (!session.outputNames.includes(name)) throw new Error(`${onnxPath} has no output ${name}`);
    }
    return new TabularOnnxModel(session, info);
  }

  /** Predict a batch of rows (values in feature order) in one run. */
  async predict(rows: TabularRow[]): Promise<TabularPrediction[]> {
    const n = rows.length;
    const feeds: Record<string, Ort.Tensor> = {};
    this.info.tabular.features.forEach((f, j) => {
      feeds[f.name] = f.datatype === 'FP32'
        ? new ort.Tensor('float32', Float32Array.from(rows, (r) => r[j] as number), [n, 1])
        : new ort.Tensor('string', rows.map((r) => r[j] as string), [n, 1]);
    });
    if (this.info.tabular.task === 'regression') {
      const out = await this.session.run(feeds, ['prediction']);
      const values = out.prediction!.data as Float32Array;
      return Array.from({ length: n }, (_, i) => ({ prediction: values[i]! }));
    }
    const out = await this.session.run(feeds, ['label', 'probabilities']);
    const labels = out.label!.data as string[];
    const probabilities = out.probabilities!.data as Float32Array;
    const k = probabilities.length / Math.max(1, n);
    return Array.from({ length: n }, (_, i) => ({ label: labels[i]!, probabilities: probabilities.subarray(i * k, (i + 1) * k) }));
  }

  /** Release the native session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
