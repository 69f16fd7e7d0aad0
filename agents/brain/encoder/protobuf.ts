/**
 * The few pieces of the protobuf wire format needed to edit an ONNX model and read a SentencePiece
 * model: both are plain protobuf messages, and only a handful of their fields matter here.
 */

/** One field of a message, as it sits on the wire. */
export interface WireField {
  field: number;
  wire: 0 | 1 | 2 | 5;
  /** Varint value (wire 0), as a bigint so 64-bit values survive. */
  varint?: bigint;
  /** The raw bytes: the payload of a length-delimited field, or the 4/8 fixed bytes. */
  bytes?: Uint8Array;
}

function readVarint(data: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= data.length) throw new Error('truncated varint');
    const b = data[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

/** Every field of one message, in order (unknown wire types fail rather than corrupt). */
export function readFields(data: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < data.length) {
    const [tag, afterTag] = readVarint(data, pos);
    pos = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(data, pos);
      out.push({ field, wire, varint: value });
      pos = next;
    } else if (wire === 2) {
      const [length, next] = readVarint(data, pos);
      const end = next + Number(length);
      if (end > data.length) throw new Error('truncated length-delimited field');
      out.push({ field, wire, bytes: data.subarray(next, end) });
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      out.push({ field, wire, bytes: data.subarray(pos, pos + size) });
      pos += size;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  return out;
}

function varintBytes(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** Serialise fields back into one message. */
export function writeFields(fields: readonly WireField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (p: Uint8Array) => {
    parts.push(p);
    total += p.length;
  };
  for (const f of fields) {
    push(Uint8Array.from(varintBytes((BigInt(f.field) << 3n) | BigInt(f.wire))));
    if (f.wire === 0) push(Uint8Array.from(varintBytes(f.varint ?? 0n)));
    else if (f.wire === 2) {
      push(Uint8Array.from(varintBytes(BigInt(f.bytes!.length))));
      push(f.bytes!);
    } else push(f.bytes!);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A length-delimited field holding a UTF-8 string or a nested message. */
export const bytesField = (field: number, bytes: Uint8Array): WireField => ({ field, wire: 2, bytes });
/** A length-delimited field holding a UTF-8 string. */
export const stringField = (field: number, text: string): WireField => bytesField(field, new TextEncoder().encode(text));
/** A varint field. */
export const varintField = (field: number, value: number): WireField => ({ field, wire: 0, varint: BigInt(value) });

/** The UTF-8 text of the first field `field`, if any. */
export function stringOf(fields: readonly WireField[], field: number): string | undefined {
  const f = fields.find((x) => x.field === field && x.wire === 2);
  return f ? new TextDecoder().decode(f.bytes) : undefined;
}
