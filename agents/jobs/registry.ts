import type { z } from 'zod';
import { ConvertJobResult, ConvertJobSpec } from './convert-spec.js';
import { DataJobResult, DataJobSpec } from './data-spec.js';
import {
  GenerationConvertJobResult, GenerationConvertJobSpec, GenerationDataJobResult, GenerationDataJobSpec,
  GenerationModelManifest, GenerationTrainJobResult, GenerationTrainJobSpec,
} from './generation-spec.js';
import { ModelManifest, TrainJobResult, TrainJobSpec } from './train-spec.js';

/**
 * Every job document that has a JSON Schema under `images/jobs/schemas/<name>.schema.json`.
 * Add one line per schema; `generate-schemas.ts` and its drift test pick it up.
 */
export const JOB_SCHEMAS: Record<string, z.ZodType> = {
  'data-spec': DataJobSpec,
  'data-result': DataJobResult,
  'train-spec': TrainJobSpec,
  'train-result': TrainJobResult,
  'model-manifest': ModelManifest,
  'convert-spec': ConvertJobSpec,
  'convert-result': ConvertJobResult,
  'generation-data-spec': GenerationDataJobSpec,
  'generation-data-result': GenerationDataJobResult,
  'generation-train-spec': GenerationTrainJobSpec,
  'generation-train-result': GenerationTrainJobResult,
  'generation-manifest': GenerationModelManifest,
  'generation-convert-spec': GenerationConvertJobSpec,
  'generation-convert-result': GenerationConvertJobResult,
};
