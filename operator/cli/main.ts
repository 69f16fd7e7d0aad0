import { brainFromEnvironment } from './brain-from-env.js';
import { parseCommandArgs, UsageError } from './args.js';
import { crdCommand } from './crd.js';
import { parseCommand } from './parse.js';

const USAGE = `Usage: trainer-agent <command> [options]

Commands:
  parse "<requirement>"            Print the TaskSpec the Task agent reads from a requirement
  parse --batch <file.jsonl>       One TaskSpec per {"id","text"} line, same id
  crd                              Print the TrainingRequest CustomResourceDefinition

LLM (optional): TRAINER_AGENT_LLM_MODEL, TRAINER_AGENT_LLM_BASE_URL, TRAINER_AGENT_LLM_API_KEY
(or OPENAI_API_KEY). Without a model the deterministic offline brain answers.`;

/** Log lines go to stderr so stdout carries only a command's output. */
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'parse': {
        const { values, positionals } = parseCommandArgs(rest, { batch: { type: 'string' } });
        return await parseCommand(brainFromEnvironment(process.env, log), positionals, values.batch, log);
      }
      case 'crd':
        parseCommandArgs(rest, {});
        return crdCommand();
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 64 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      log(`trainer-agent: ${error.message}\n\n${USAGE}`);
      return 64;
    }
    log(`trainer-agent: ${(error as Error).message}`);
    return 1;
  }
}
