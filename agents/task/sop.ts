/** The Task agent's standard operating procedure, given to its brain with every decision. */
export const TASK_SOP = [
  '1. Parse the requirement into a TaskSpec: task, modality, labels, objectives, constraints, serving.',
  '2. Judge ethics, then feasibility; a refusal ends the request before any compute is spent.',
  '3. Merge the user\'s later messages and explicit overrides; overrides win.',
  '4. Plan the steps for the Data, Model and Server agents within the budget.',
  '5. Coordinate: start each step when its inputs exist; ask the user when something only they can give is missing.',
  '6. Report the outcome, the model, its metrics, the endpoint and the API document.',
].join('\n');
