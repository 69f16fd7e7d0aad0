import type { GenerationDataProfile } from '../jobs/generation-spec.js';
import type { Objective } from '../task/task-spec.js';
import type { DataReview } from './decide.js';

/** Style images a LoRA needs to learn a style rather than copy a few pictures. */
export const MIN_STYLE_IMAGES = 8;
/** Held-out images below which FID (even a proxy) cannot be computed at all. */
export const MIN_HELD_OUT_IMAGES = 2;
/** Held-out images below which an FID target is judged on a very noisy estimate. */
export const FID_JUDGING_IMAGES = 50;

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The style set summarised for status.data. */
export function styleSetSummary(p: GenerationDataProfile): string {
  const sizes = Object.entries(p.resolutions).slice(0, 3).map(([size, n]) => `${size} ×${n}`).join(', ');
  const c = p.captions;
  return `${p.images.valid} style images loaded (${p.images.invalid} unreadable); ${p.images.train} to learn from, ${p.images.heldOut} held out (${p.heldOut.reason}); ` +
    `${p.duplicates.removed} duplicates removed (${p.duplicates.exact} exact, ${p.duplicates.near} near); sizes ${sizes || 'none'}` +
    `${p.belowResolution ? `, ${p.belowResolution} below the ${p.trainingResolution} px training resolution` : ''}; ` +
    `captions: ${c.given} given (${pct(c.coverage)}), ${c.fromNames} written from file and folder names, ${c.distinct} distinct.`;
}

/**
 * Whether the style set can support the fine-tune: at least {@link MIN_STYLE_IMAGES} images to learn
 * from, and for an FID target at least {@link MIN_HELD_OUT_IMAGES} held-out ones (fewer than
 * {@link FID_JUDGING_IMAGES} is said to be noisy, not refused). Asks for a concrete number otherwise.
 */
export function reviewStyleSet(task: { objectives: Objective[] }, p: GenerationDataProfile): DataReview {
  const reasons: string[] = [];
  const missingTrain = Math.max(0, MIN_STYLE_IMAGES - p.images.train);
  const wantsFid = task.objectives.some((o) => o.metric === 'fid');
  const missingHeld = wantsFid ? Math.max(0, MIN_HELD_OUT_IMAGES - p.images.heldOut) : 0;
  if (wantsFid && p.images.heldOut >= MIN_HELD_OUT_IMAGES && p.images.heldOut < FID_JUDGING_IMAGES) {
    reasons.push(`FID on ${p.images.heldOut} held-out images is a noisy estimate (published FIDs use thousands); ${FID_JUDGING_IMAGES} or more make it steadier.`);
  }
  if (missingTrain === 0 && missingHeld === 0) {
    reasons.push('There are enough style images to fine-tune on.');
    return { moreDataNeeded: false, additionalRows: 0, reasons };
  }
  const parts: string[] = [];
  if (missingTrain) parts.push(`A LoRA needs at least ${MIN_STYLE_IMAGES} images of the style to learn it, and ${p.images.train} are left after duplicates and the held-out share.`);
  if (missingHeld) parts.push(`The FID target needs at least ${MIN_HELD_OUT_IMAGES} held-out style images to compare with; there are ${p.images.heldOut}.`);
  const more = missingTrain + missingHeld;
  parts.push(`Please add at least ${more} more images of the style to spec.data (an image folder; a caption per image in metadata.jsonl or a .txt beside it helps).`);
  return { moreDataNeeded: true, additionalRows: more, question: parts.join(' '), reasons: [...reasons, ...parts] };
}
