import { boxConfig, boxMetadata, boxResponse, boxRows, isBoxModel, OnnxBoxModel, parseBoxRequest } from './boxes.js';
import { OnnxClassifier, type ModelRow } from './model.js';
import { decodeImage, ImageError, toModelRow } from './preprocess.js';
import { HttpError, inferResponse, modelConfig, modelMetadata, parseInferRequest, type EncodedResponse, type InferLimits } from './protocol.js';
import type { RepositoryModel } from './repository.js';
import { TabularOnnxModel } from './tabular-model.js';
import { parseTabularInferRequest, tabularConfig, tabularMetadata, tabularResponse, type TabularModelInfo, type TabularRow } from './tabular-protocol.js';

/** A parsed request: the rows for the batcher, and how to answer once their predictions are back. */
export interface ParsedRequest {
  rows: unknown[];
  respond(predictions: unknown[]): EncodedResponse;
}

/**
 * What the HTTP server needs of a model, whatever its task: parse and preprocess a request into rows,
 * predict a batch of rows (the batcher mixes rows of several requests), answer, describe itself.
 */
export interface ServedModel {
  parse(body: unknown, limits: InferLimits, binary?: Buffer): ParsedRequest;
  predict(rows: unknown[]): Promise<unknown[]>;
  metadata(): unknown;
  config(): unknown;
  close(): Promise<void>;
}

/** A classifier (text or image): `label` and `probabilities` (protocol.ts). */
async function classifierModel(model: RepositoryModel, intraOpThreads: number): Promise<ServedModel> {
  const classifier = await OnnxClassifier.load(model, intraOpThreads);
  return {
    parse: (body, limits, binary) => {
      const request = parseInferRequest(body, model, limits, binary);
      let rows: ModelRow[] = request.rows;
      if (model.kind === 'image') {
        try {
          rows = request.rows.map((b64) => toModelRow(decodeImage(b64), model.image!));
        } catch (err) {
          if (err instanceof ImageError) throw new HttpError(400, `invalid image: ${err.message}`);
          throw err;
        }
      }
      return { rows, respond: (predictions) => inferResponse(model, request, predictions as Awaited<ReturnType<OnnxClassifier['predict']>>) };
    },
    predict: (rows) => classifier.predict(rows as ModelRow[]),
    metadata: () => modelMetadata(model),
    config: () => modelConfig(model),
    close: () => classifier.close(),
  };
}

/** A box model (grounding, detection): boxes and scores (boxes.ts). */
async function boxModel(model: RepositoryModel, intraOpThreads: number): Promise<ServedModel> {
  if (!isBoxModel(model)) throw new Error(`${model.name} is not a box model`);
  const runner = await OnnxBoxModel.load(model, intraOpThreads);
  return {
    parse: (body, limits, binary) => {
      const request = parseBoxRequest(body, model, limits, binary);
      return { rows: boxRows(model, request), respond: (answers) => boxResponse(model, request, answers as Awaited<ReturnType<OnnxBoxModel['predict']>>) };
    },
    predict: (rows) => runner.predict(rows as Parameters<OnnxBoxModel['predict']>[0]),
    metadata: () => boxMetadata(model),
    config: () => boxConfig(model),
    close: () => runner.close(),
  };
}

/** A table model: one named input per feature (tabular-protocol.ts), classes or a number out. */
async function tableModel(onnxPath: string, table: TabularModelInfo, intraOpThreads: number): Promise<ServedModel> {
  const runner = await TabularOnnxModel.load(onnxPath, table, intraOpThreads);
  return {
    parse: (body, limits, binary) => {
      const request = parseTabularInferRequest(body, table, limits, binary);
      return { rows: request.rows, respond: (predictions) => tabularResponse(table, request, predictions as Awaited<ReturnType<TabularOnnxModel['predict']>>) };
    },
    predict: (rows) => runner.predict(rows as TabularRow[]),
    metadata: () => tabularMetadata(table),
    config: () => tabularConfig(table),
    close: () => runner.close(),
  };
}

/** The served form of a repository model. */
export function loadServedModel(model: RepositoryModel, intraOpThreads = 1): Promise<ServedModel> {
  if (model.tabular) return tableModel(model.onnxPath, { ...model, tabular: model.tabular }, intraOpThreads);
  return isBoxModel(model) ? boxModel(model, intraOpThreads) : classifierModel(model, intraOpThreads);
}
