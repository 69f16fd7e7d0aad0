import { inflateRawSync } from 'node:zlib';

/**
 * One member of a zip archive (a Python wheel), read through the central directory. Wheels use
 * only "stored" and "deflate" entries, which is all this reads.
 */
export function readZipMember(archive: Buffer, name: string): Buffer {
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 65_557); i -= 1) {
    if (archive.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = archive.readUInt16LE(eocd + 10);
  let pos = archive.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n += 1) {
    if (archive.readUInt32LE(pos) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = archive.readUInt16LE(pos + 10);
    const compressedSize = archive.readUInt32LE(pos + 20);
    const nameLength = archive.readUInt16LE(pos + 28);
    const extraLength = archive.readUInt16LE(pos + 30);
    const commentLength = archive.readUInt16LE(pos + 32);
    const localOffset = archive.readUInt32LE(pos + 42);
    const entryName = archive.toString('utf8', pos + 46, pos + 46 + nameLength);
    if (entryName === name) {
      const localNameLength = archive.readUInt16LE(localOffset + 26);
      const localExtraLength = archive.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + localNameLength + localExtraLength;
      const data = archive.subarray(start, start + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip member ${name} uses unsupported compression ${method}`);
    }
    pos += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`zip archive has no member ${name}`);
}
