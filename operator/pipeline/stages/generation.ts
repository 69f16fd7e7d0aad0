import type { GenerationConvertJobResult, GenerationDataJobResult, GenerationTrainJobResult } from '../../../agents/jobs/generation-spec.js';
import type { StageContext, StageOutcome } from '../reconcile.js';
import { generationDataStage } from './generation-data.js';
import { generationModelStage } from './generation-model.js';
import { generationServingStage } from './generation-serving.js';

/** What the image generation stages hand to the ones after them within one reconcile. */
export interface GenerationContext {
  data?: { dir: string; result: GenerationDataJobResult };
  trained?: { attempt: number; result: GenerationTrainJobResult };
  converted?: GenerationConvertJobResult;
}

/** The stages of an image generation request, in order: style set, LoRA fine-tune, Triton Python model. */
export const GENERATION_STAGES: ((ctx: StageContext) => Promise<StageOutcome> | StageOutcome)[] = [
  generationDataStage, generationModelStage, generationServingStage,
];
