import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { TrainingRequest } from '../api/training-request.js';
import { contentDigest } from '../local/sources.js';
import { createLogger } from '../observability/logger.js';
import { ArtifactStore } from './artifacts.js';
import { OperatorConfig } from './config.js';
import { SourceStager, parseSourceRecords, redactUri, sourceKey, type SourceAccess } from './sources.js';
import { StagingThread, type StagingCall, type StagingCalls } from './staging-thread.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
/** Wait until `done` holds (background staging on a busy machine takes what it takes), at most 5 s. */
const eventually = async (done: () => boolean) => {
  for (let i = 0; i < 500 && !done(); i += 1) await tick(10);
};

describe('StagingThread (the worker thread)', () => {
  const thread = new StagingThread({ idleMs: 200 });
  afterAll(() => thread.close());

  it('hashes a file and a folder exactly as the local backend does, streaming', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-stage-'));
    writeFileSync(join(dir, 'emails.jsonl'), '{"text":"hi","label":"ham"}\n'.repeat(1000));
    mkdirSync(join(dir, 'images/cat'), { recursive: true });
    mkdirSync(join(dir, 'images/dog'), { recursive: true });
    writeFileSync(join(dir, 'images/cat/1.png'), Buffer.alloc(3000, 1));
    writeFileSync(join(dir, 'images/dog/1.png'), Buffer.alloc(2000, 2));
    expect((await thread.call({ op: 'digest', path: join(dir, 'emails.jsonl'), expectFolder: false })).digest).toBe(contentDigest(join(dir, 'emails.jsonl')));
    expect((await thread.call({ op: 'digest', path: join(dir, 'images'), expectFolder: true })).digest).toBe(contentDigest(join(dir, 'images')));
    await expect(thread.call({ op: 'digest', path: join(dir, 'emails.jsonl'), expectFolder: true })).rejects.toThrow('is not a folder');
    await expect(thread.call({ op: 'digest', path: join(dir, 'missing.jsonl'), expectFolder: false })).rejects.toThrow('does not exist');
  });

  it('notices a changed file by its fingerprint without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-stage-'));
    const file = join(dir, 'd.csv');
    writeFileSync(file, 'text,label\na,b\n');
    const first = await thread.call({ op: 'fingerprint', path: file });
    expect((await thread.call({ op: 'fingerprint', path: file })).fingerprint).toBe(first.fingerprint);
    writeFileSync(file, 'text,label\na,b\nc,d\n');
    expect((await thread.call({ op: 'fingerprint', path: file })).fingerprint).not.toBe(first.fingerprint);
  });

  describe('downloads', () => {
    let server: Server;
    let base: string;
    const body = Buffer.from('{"text":"win money","label":"spam"}\n'.repeat(200));
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/data.jsonl') res.writeHead(200, { 'content-length': String(body.length) }).end(body);
        else if (req.url === '/unsized') {
          res.writeHead(200);
          res.write(body);
          res.end(body);
        } else if (req.url === '/stall') {
          res.writeHead(200);
          res.write('{"text":');
        } else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const download = (path: string, extra: Partial<Extract<StagingCall, { op: 'download' }>> = {}) => {
      const dest = join(mkdtempSync(join(tmpdir(), 'ta-dl-')), 'sources/emails/data.jsonl');
      return { dest, call: thread.call({ op: 'download', url: `${base}${path}`, label: `${base}${path}`, dest, headers: {}, maxBytes: 1 << 20, timeoutMs: 5000, ...extra }) };
    };

    it('streams to the volume and returns the digest of what it wrote', async () => {
      const { dest, call } = download('/data.jsonl');
      const got = await call;
      expect(readFileSync(dest).equals(body)).toBe(true);
      expect(got.digest).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    });

    it.each([
      { name: 'a declared size over the cap', path: '/data.jsonl', extra: { maxBytes: 100 }, error: /over the limit of 100/ },
      { name: 'an undeclared size that grows over the cap', path: '/unsized', extra: { maxBytes: body.length + 10 }, error: /over the limit/ },
      { name: 'a server that stops sending', path: '/stall', extra: { timeoutMs: 300 }, error: /no complete answer within 0.3 s/ },
      { name: 'an error status', path: '/nope', extra: {}, error: /HTTP 404/ },
    ])('refuses $name and leaves nothing behind', async ({ path, extra, error }) => {
      const { dest, call } = download(path, extra);
      await expect(call).rejects.toThrow(error);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(`${dest}.${process.pid}.tmp`)).toBe(false);
    });
  });
});

/** A staging thread in memory: digests are what the test says; calls are recorded. */
function fakeThread(digests: Record<string, string>, fingerprints: Record<string, string> = {}) {
  const calls: StagingCall[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const thread: StagingCalls & { calls: StagingCall[]; hold(): void; release(): void } = {
    calls,
    hold: () => (gate = new Promise((r) => (release = r))),
    release: () => release(),
    async call(call) {
      calls.push(call);
      await gate;
      if (call.op === 'fingerprint') return { fingerprint: fingerprints[call.path] ?? 'fp' } as never;
      const path = call.op === 'download' ? call.url : call.path;
      const digest = digests[path];
      if (!digest) throw new Error('does not exist');
      return { digest, fingerprint: fingerprints[path] ?? 'fp' } as never;
    },
    close: async () => undefined,
  };
  return thread;
}

const requestWith = (data: unknown[], extra: Record<string, unknown> = {}) =>
  TrainingRequest.parse({ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name: 'spam', namespace: 'team-a', uid: 'u' }, spec: { requirement: 'spam filter', data, ...extra } });

describe('SourceStager', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ta-stager-'));
  const config = OperatorConfig.parse({ artifacts: { mountPath: '/artifacts', localPath: dir }, sources: { recheckSeconds: 60 } });
  const store = new ArtifactStore(config);
  const make = (thread: StagingCalls, now: () => number = Date.now, access: SourceAccess = { readConfigMap: async () => undefined, readSecretKey: async () => undefined }) => {
    const settled: string[] = [];
    const stager = new SourceStager({ config, store, access, log: quiet, onSettled: (k) => settled.push(k), thread, now });
    return { stager, settled };
  };
  const emails = { name: 'emails', uri: 'pvc://trainer-agent-artifacts/datasets/emails.jsonl', format: 'jsonl', role: 'train' };

  it('answers at once with a pending source, hashes it off the loop, and enqueues the request when done', async () => {
    const thread = fakeThread({ [join(dir, 'datasets/emails.jsonl')]: 'sha256:abc' });
    thread.hold();
    const { stager, settled } = make(thread);
    const request = requestWith([emails]);
    expect(stager.resolve(request).sources).toEqual([{ name: 'emails', role: 'train', location: '/artifacts/datasets/emails.jsonl', pending: 'staging pvc://trainer-agent-artifacts/datasets/emails.jsonl' }]);
    // Asking again while it runs starts nothing new.
    stager.resolve(request);
    expect(thread.calls).toHaveLength(1);
    thread.release();
    await tick(10);
    expect(settled).toEqual(['team-a/spam']);
    expect(stager.resolve(request).sources).toEqual([{ name: 'emails', role: 'train', location: '/artifacts/datasets/emails.jsonl', digest: 'sha256:abc' }]);
    expect(thread.calls).toHaveLength(1);
  });

  it('revalidates after the recheck period: the fingerprint first, the hash only when it changed', async () => {
    const path = join(dir, 'datasets/emails.jsonl');
    const digests = { [path]: 'sha256:v1' };
    const fingerprints = { [path]: 'fp1' };
    const thread = fakeThread(digests, fingerprints);
    let now = 0;
    const { stager, settled } = make(thread, () => now);
    const request = requestWith([emails]);
    stager.resolve(request);
    await tick(10);
    now = 61_000;
    stager.resolve(request);
    await tick(10);
    expect(thread.calls.map((c) => c.op)).toEqual(['digest', 'fingerprint']);
    expect(settled).toEqual(['team-a/spam']);
    now = 200_000;
    fingerprints[path] = 'fp2';
    digests[path] = 'sha256:v2';
    // The old digest is served until the new one is known, then the request is enqueued again.
    expect(stager.resolve(request).sources[0]!.digest).toBe('sha256:v1');
    await tick(10);
    expect(thread.calls.map((c) => c.op)).toEqual(['digest', 'fingerprint', 'fingerprint', 'digest']);
    expect(settled).toEqual(['team-a/spam', 'team-a/spam']);
    expect(stager.resolve(request).sources[0]!.digest).toBe('sha256:v2');
  });

  it('records what it staged, and after a restart takes those records as staged: no fall back to fetching', async () => {
    const path = join(dir, 'datasets/emails.jsonl');
    const request = requestWith([emails]);
    const first = make(fakeThread({ [path]: 'sha256:v1' }, { [path]: 'fp1' }));
    first.stager.resolve(request);
    await tick(10);
    const records = parseSourceRecords(first.stager.record(request));
    expect(records).toEqual([{ key: sourceKey(emails as never), location: '/artifacts/datasets/emails.jsonl', digest: 'sha256:v1', fingerprint: 'fp1' }]);

    // A new process, seeded from the data Job's annotation: the digest at once, checked in the background.
    const thread = fakeThread({ [path]: 'sha256:v1' }, { [path]: 'fp1' });
    const settled: string[] = [];
    const restarted = new SourceStager({ config, store, access: { readConfigMap: async () => undefined, readSecretKey: async () => undefined }, log: quiet, onSettled: (k) => settled.push(k), thread, seeds: () => records });
    expect(restarted.resolve(request).sources).toEqual([{ name: 'emails', role: 'train', location: '/artifacts/datasets/emails.jsonl', digest: 'sha256:v1' }]);
    await tick(10);
    expect(thread.calls.map((c) => c.op)).toEqual(['fingerprint']);
    expect(settled).toEqual([]);
  });

  it('a seed whose file changed meanwhile is hashed again, and the request enqueued', async () => {
    const path = join(dir, 'datasets/emails.jsonl');
    const thread = fakeThread({ [path]: 'sha256:v2' }, { [path]: 'fp2' });
    const settled: string[] = [];
    const stager = new SourceStager({ config, store, access: { readConfigMap: async () => undefined, readSecretKey: async () => undefined }, log: quiet, onSettled: (k) => settled.push(k), thread, seeds: () => [{ key: sourceKey(emails as never), location: '/artifacts/datasets/emails.jsonl', digest: 'sha256:v1', fingerprint: 'fp1' }] });
    const request = requestWith([emails]);
    expect(stager.resolve(request).sources[0]!.digest).toBe('sha256:v1');
    await tick(10);
    expect(thread.calls.map((c) => c.op)).toEqual(['fingerprint', 'digest']);
    expect(settled).toEqual(['team-a/spam']);
    expect(stager.resolve(request).sources[0]!.digest).toBe('sha256:v2');
  });

  it.each([
    { name: 'no annotation', value: undefined },
    { name: 'not JSON', value: '{oops' },
    { name: 'another shape', value: '[{"digest":1}]' },
  ])('ignores a source record that is $name', ({ value }) => expect(parseSourceRecords(value)).toEqual([]));

  it('reports a missing file as an error naming the URI', async () => {
    const { stager } = make(fakeThread({}));
    const request = requestWith([emails]);
    stager.resolve(request);
    await tick(10);
    expect(stager.resolve(request).sources[0]!.error).toBe('pvc://trainer-agent-artifacts/datasets/emails.jsonl on claim trainer-agent-artifacts: does not exist');
  });

  it('downloads https:// with the token from the Secret, and never shows the query in status', async () => {
    const uri = 'https://data.example.com/sets/emails.jsonl?X-Amz-Signature=s3cr3t';
    const thread = fakeThread({ [uri]: 'sha256:dl' });
    const reads: string[] = [];
    const { stager } = make(thread, Date.now, { readConfigMap: async () => undefined, readSecretKey: async (_ns, name, key) => (reads.push(`${name}/${key}`), 'tok') });
    const request = requestWith([{ name: 'emails', uri, format: 'jsonl', role: 'train', credentialsSecretRef: { name: 'data-token' } }]);
    const first = stager.resolve(request).sources[0]!;
    expect(first.pending).toBe('staging https://data.example.com/sets/emails.jsonl?…');
    await tick(10);
    const download = thread.calls.find((c) => c.op === 'download') as Extract<StagingCall, { op: 'download' }>;
    expect(download).toMatchObject({ url: uri, label: 'https://data.example.com/sets/emails.jsonl?…', headers: { authorization: 'Bearer tok' }, maxBytes: config.sources.maxDownloadBytes, dest: join(dir, 'team-a/spam/sources/emails/emails.jsonl') });
    expect(reads).toEqual(['data-token/token']);
    expect(stager.resolve(request).sources[0]).toEqual({ name: 'emails', role: 'train', location: '/artifacts/team-a/spam/sources/emails/emails.jsonl', digest: 'sha256:dl' });
  });

  it('copies a configmap:// key onto the volume with the digest of its content', async () => {
    const { stager } = make(fakeThread({}), Date.now, { readConfigMap: async () => ({ data: { 'emails.csv': 'text,label\nhi,ham\n' } }), readSecretKey: async () => undefined });
    const request = requestWith([{ name: 'emails', uri: 'configmap://seed/emails.csv', format: 'csv', role: 'train' }]);
    stager.resolve(request);
    await eventually(() => !stager.resolve(request).sources[0]!.pending);
    const seen = stager.resolve(request).sources[0]!;
    expect(seen.digest).toBe(`sha256:${createHash('sha256').update('text,label\nhi,ham\n').digest('hex')}`);
    expect(readFileSync(join(dir, 'team-a/spam/sources/emails/emails.csv'), 'utf8')).toBe('text,label\nhi,ham\n');
  });

  it('names a claim it cannot see by its URI at once, and rejects local-mode URIs', () => {
    const { stager } = make(fakeThread({}));
    const seen = stager.resolve(requestWith([{ name: 'other', uri: 'pvc://other-claim/d.jsonl', format: 'jsonl', role: 'train' }, { name: 'local', uri: 'file:///etc/passwd', format: 'jsonl', role: 'train' }]));
    expect(seen.mounts).toEqual([{ claimName: 'other-claim', mountPath: '/mnt/data/other-claim' }]);
    expect(seen.sources[0]!.digest).toMatch(/^uri:[0-9a-f]{64}$/);
    expect(seen.sources[1]!.error).toMatch(/file: URIs are for local mode/);
  });
});

describe('redactUri', () => {
  it.each([
    { uri: 'https://user:pw@h.example/a/b.csv?token=1#x', shown: 'https://h.example/a/b.csv?…' },
    { uri: 'https://h.example/a.csv', shown: 'https://h.example/a.csv' },
    { uri: 'pvc://claim/a.csv', shown: 'pvc://claim/a.csv' },
  ])('$uri → $shown', ({ uri, shown }) => expect(redactUri(uri)).toBe(shown));
});
