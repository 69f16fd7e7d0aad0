import { resolve } from 'node:path';
import { readStatus, requestDir } from '../local/state.js';
import { startServer } from '../local/serve/server.js';

/** `trainer-agent serve <name>`: serve a Ready request's model in the foreground until stopped. */
export async function serveCommand(stateDir: string, namespace: string, name: string, port: number, host: string, log: (line: string) => void): Promise<number> {
  const dir = requestDir(resolve(stateDir), namespace, name);
  const status = readStatus(dir);
  if (!status) throw new Error(`no request ${namespace}/${name} under ${resolve(stateDir)}`);
  if (!status.endpoint || !status.conditions?.some((c) => c.type === 'Converted' && c.status === 'True')) {
    throw new Error(`${namespace}/${name} has no converted model yet (phase ${status.phase}); run it to Ready first`);
  }
  const repositoryDir = status.model?.uri;
  if (!repositoryDir) throw new Error(`${namespace}/${name} records no model repository`);
  const server = await startServer({ repositoryDir, model: status.endpoint.model, port, host });
  log(`Serving ${status.endpoint.model} at ${server.url}/v2/models/${status.endpoint.model} (KServe v2; Ctrl-C stops)`);
  await new Promise<void>((done) => {
    const stop = () => {
      void server.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
