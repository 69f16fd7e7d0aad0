/** The Model agent's standard operating procedure, given to its brain with every decision. */
export const MODEL_SOP = [
  '1. Select candidates from the catalog that fit the task, modality, frameworks, hardware, rows per class and the size and latency limits; give a reason for each model left out.',
  '2. Keep a teacher pool: the same models without the size limits, for the hierarchical mode.',
  '3. Train the best-ranked candidate first; evaluate on the locked test split (k-fold when it is too small) with a 95% interval.',
  '4. Target met within the limits: stop. Met but too many bytes, within a factor of 4: stop and hand INT8 quantization to the Server agent.',
  '5. Missed: go larger if a larger candidate fits; with unlabelled rows, train a teacher, then the small model on its pseudo-labels (confidence >= 0.6); train an iterative model longer; otherwise try the next candidate.',
  '6. Stop when the attempt budget is spent or nothing is left; keep the best attempt, preferring one within the limits.',
  '7. Record every attempt: model, hyperparameters, seed, metrics, size, duration and why it was made; write the evaluation report and plots.',
].join('\n');
