import type { DataProfile } from '../jobs/data-spec.js';
import type { Task } from '../task/task-spec.js';

/** Tasks trained on boxes: prepared, trained, converted and served by the box modules of the jobs. */
export const BOX_TASKS: readonly Task[] = ['visual-grounding', 'object-detection'];

/** Whether a task is trained on boxes (visual grounding, object detection). */
export function isBoxTask(task: Task | undefined): boolean {
  return task !== undefined && BOX_TASKS.includes(task);
}

/** The data status line of a box task: images, boxes, empty images, what was clipped or left out and why. */
export function boxDataSummary(profile: DataProfile): string | undefined {
  const b = profile.boxes;
  if (!b) return undefined;
  const problems = b.problems.filter((p) => p.reason !== 'size-mismatch').map((p) => `${p.count} ${p.description}`);
  const evaluation = profile.evaluation.method === 'cross-validation'
    ? `${profile.evaluation.folds ?? 5}-fold cross-validation over ${profile.evaluation.rows} rows, grouped by image`
    : `locked test split of ${profile.evaluation.rows} rows (whole images)`;
  return `${profile.rows.loaded} ${b.task === 'grounding' ? 'queries' : 'images'} loaded from ${b.images} images with ${b.annotations} boxes` +
    `${b.task === 'grounding' && b.queries ? ` (${b.queries.distinct} distinct queries)` : `, ${profile.classes.length} classes, ${b.emptyImages} empty images`}; ` +
    `${profile.rows.train} train / ${profile.rows.test} test; ${profile.duplicates.removed} duplicates removed; ${b.clipped} boxes clipped to their image` +
    `${problems.length ? `; left out ${b.dropped} annotation(s): ${problems.join(', ')}` : ''}. Evaluation: ${evaluation}.`;
}
