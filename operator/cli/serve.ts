import { resolve } from 'node:path';
import { registerServe } from '../local/serve-registry.js';
import { readStatus, requestDir, within } from '../local/state.js';
import { startModelServer } from '../local/serve/model-server.js';

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
  if (!within(dir, resolve(repositoryDir))) {
    // Written by an older version with absolute paths: from a copied state directory, that would serve
    // the original's model, not this one's.
    throw new Error(`${namespace}/${name}'s status.json points at a model outside its folder (${repositoryDir}); ` +
      `it was probably copied from another state directory — rerun \`trainer-agent run\` on the request file to refresh it`);
  }
  const server = await startModelServer({ repositoryDir, model: status.endpoint.model, port, host });
  const unregister = registerServe(dir, server.url);
  log(`Serving ${status.endpoint.model} at ${server.url}/v2/models/${status.endpoint.model} (KServe v2; Ctrl-C stops)`);
  await new Promise<void>((done) => {
    const stop = () => {
      void server.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  unregister();
  return 0;
}
