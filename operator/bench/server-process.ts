/**
 * Child process for `npm run bench`: serves one model on 127.0.0.1 and prints `{"url": ...}` on stdout,
 * so the load generator and the server do not share an event loop. Stops on SIGTERM/SIGINT.
 */
import { startServer } from '../local/serve/server.js';

const [repositoryDir, model] = process.argv.slice(2);
if (!repositoryDir || !model) {
  process.stderr.write('usage: server-process.ts <repositoryDir> <model>\n');
  process.exit(2);
}
const server = await startServer({ repositoryDir, model, host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
const stop = (): void => { void server.close().then(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
