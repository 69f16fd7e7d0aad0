import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  return { log, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line, Kubernetes style, with each key once', () => {
    const { log, lines } = capture();
    log.info({ namespace: 'team-a', name: 'spam', stage: 'data' }, 'Created Job spam-data-1a2b');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(JSON.parse(line)).toMatchObject({ level: 'info', logger: 'trainer-agent-operator', namespace: 'team-a', name: 'spam', stage: 'data', msg: 'Created Job spam-data-1a2b' });
    // A duplicate key would make the request's name depend on the JSON parser.
    expect(line.match(/"name":/g)).toHaveLength(1);
  });

  it('never writes secrets, wherever they sit in the logged object', () => {
    const { log, lines } = capture();
    log.warn({ apiKey: 'sk-1', request: { token: 'tok-2', authorization: 'Bearer tok-3' } }, 'Failed to call the LLM');
    expect(lines.join('')).not.toMatch(/sk-1|tok-2|tok-3/);
  });
});
