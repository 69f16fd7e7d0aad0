// The operator's staging thread: hashes data sources and downloads https:// sources, so neither
// ever runs on the event loop that renews the leader lease, answers probes and reconciles.
// Plain JavaScript on purpose: a worker thread loads its file with Node's own loader, outside
// tsx and ts-jest. Messages: {id, op, ...} in, {id, ok, ...result} or {id, ok: false, error} out.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { parentPort } from 'node:worker_threads';

/** Every file under `root` (or root itself), in the order the digest reads them. */
async function files(root) {
  const info = await stat(root);
  if (!info.isDirectory()) return [{ path: root, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino }];
  const out = [];
  for (const entry of (await readdir(root)).sort()) out.push(...(await files(join(root, entry))));
  return out;
}

/** A cheap identity of the content: paths, sizes and modification times, no reads. */
async function fingerprint(root) {
  const hash = createHash('sha256');
  for (const f of await files(root)) hash.update(`${relative(root, f.path)}\0${f.size}\0${f.mtimeMs}\0${f.ino}\n`);
  return hash.digest('hex');
}

/** sha256 over each file's relative path and content, streamed (the local backend's contentDigest). */
async function digest(root, expectFolder) {
  const info = await stat(root);
  if (expectFolder && !info.isDirectory()) throw new Error('is not a folder');
  const before = await fingerprint(root);
  const hash = createHash('sha256');
  for (const f of await files(root)) {
    hash.update(relative(root, f.path));
    for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  }
  const after = await fingerprint(root);
  if (after !== before) throw new Error('changed while it was read; will retry');
  return { digest: `sha256:${hash.digest('hex')}`, fingerprint: after };
}

/** Download `url` to `dest` (atomically), at most `maxBytes`, within `timeoutMs` in all. */
async function download({ url, dest, headers, maxBytes, timeoutMs, label }) {
  const signal = AbortSignal.timeout(timeoutMs);
  let response;
  try {
    response = await fetch(url, { headers, redirect: 'follow', signal });
  } catch (error) {
    throw new Error(signal.aborted ? `GET ${label}: no complete answer within ${timeoutMs / 1000} s` : `GET ${label}: ${error.cause?.code ?? error.message}`);
  }
  // A redirect may not downgrade https to plain http (the token would travel in the clear).
  if (new URL(url).protocol === 'https:' && new URL(response.url).protocol !== 'https:') throw new Error(`GET ${label}: redirected away from https`);
  if (!response.ok) throw new Error(`GET ${label}: HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (declared > maxBytes) throw new Error(`GET ${label}: ${declared} bytes is over the limit of ${maxBytes}`);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) return done(new Error(`GET ${label}: over the limit of ${maxBytes} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body), count, createWriteStream(tmp), { signal });
  } catch (error) {
    await rm(tmp, { force: true });
    throw new Error(signal.aborted ? `GET ${label}: no complete answer within ${timeoutMs / 1000} s` : error.message.startsWith('GET ') ? error.message : `GET ${label}: ${error.message}`);
  }
  await rename(tmp, dest);
  return { digest: `sha256:${hash.digest('hex')}`, fingerprint: await fingerprint(dest), bytes };
}

const ops = {
  fingerprint: async (m) => ({ fingerprint: await fingerprint(m.path) }),
  digest: (m) => digest(m.path, m.expectFolder),
  download,
};

parentPort.on('message', (message) => {
  const op = ops[message.op];
  Promise.resolve()
    .then(() => (op ? op(message) : Promise.reject(new Error(`unknown op ${message.op}`))))
    .then(
      (result) => parentPort.postMessage({ id: message.id, ok: true, ...result }),
      (error) => parentPort.postMessage({ id: message.id, ok: false, error: error.code === 'ENOENT' ? 'does not exist' : String(error.message ?? error) }),
    );
});
