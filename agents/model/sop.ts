/** The Model agent's standard operating procedure, given to its brain with every decision. */
export const MODEL_SOP = [
  '1. Select candidates from the catalog that fit the task, modality, installed frameworks, rows per class and the size and latency limits; give a reason for each model left out. Order them by tier (classic, frozen encoder, fine-tuning), then rank.',
  '2. Keep a teacher pool: the same models without the size limits, for the hierarchical mode.',
  '3. Train the cheapest-tier candidate first, with hyperparameters planned from the data, the device and the deadline; the evaluation (locked test split, or per-fold cross-validation when that is too small) was fixed by the data job.',
  '4. Target met within the limits (point estimate, at least 50 evaluated rows): stop. Met but too many bytes, within a factor of 4: stop and hand INT8 quantization to the Server agent, which checks the converted size.',
  '5. Missed: with unlabelled rows, fine-tune a teacher too big to deploy, then the strongest deployable model on its soft labels; otherwise climb a tier, try a larger model of the same tier, train an iterative model longer, or try the next candidate.',
  '6. Stop when the attempt budget is spent or nothing is left; keep the best attempt, preferring one within the limits.',
  '7. Record every attempt: model, hyperparameters, seed, metrics with their interval, size, device, speed, duration and why it was made; write the evaluation report and plots.',
].join('\n');
