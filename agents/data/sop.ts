/** The Data agent's standard operating procedure, given to its brain with every decision. */
export const DATA_SOP = [
  '1. Check that labelled data is given and every source is readable; ask for labelled examples when there are none.',
  '2. Decide the operations: clean, deduplicate (near-duplicates for text only), confident-learning label errors.',
  '3. Run the data job: load, clean, deduplicate, split with the test split locked, run the training-split operations.',
  '4. Read the profile: rows per split and class, balance, duplicates, leakage, label issues, lengths or sizes.',
  '4b. Decide a second pass on the training split from the profile: augment a minority class below a fifth of the majority (at most 3x for text, 5x for images), reduce a training split above 200,000 rows (never below 20,000); leave unlabelled rows to the Model agent\'s teacher.',
  '5. Review it against the target: enough rows to judge it (unlabelled ones count when a teacher can label them) and at least 30 per class.',
  '6. Too little data: ask for a concrete number of rows, by class when one class is thin; otherwise hand the prepared data to the Model agent.',
  '7. Write the data report with its plots; examples are short and redacted.',
].join('\n');
