/**
 * A strict little pcapng reader for tests (draft-ietf-opsawg-pcapng): it walks every block,
 * checks that both length fields agree and that blocks and options are 32-bit aligned, and
 * returns interfaces and packets with their options. Little-endian sections only (what our
 * writer produces); anything else throws, since a test should fail loudly on a bad file.
 */
import { readFileSync } from 'node:fs';

export interface PcapngOption {
  readonly code: number;
  readonly value: Uint8Array;
}

export interface PcapngInterface {
  readonly linkType: number;
  readonly snapLen: number;
  readonly options: readonly PcapngOption[];
  readonly name: string | undefined;
  readonly tsresol: number | undefined;
}

export interface PcapngPacket {
  readonly interfaceId: number;
  /** Timestamp in the interface's units (nanoseconds for if_tsresol 9). */
  readonly timestamp: bigint;
  readonly capturedLength: number;
  readonly originalLength: number;
  readonly data: Uint8Array;
  readonly options: readonly PcapngOption[];
  /** epb_flags, when present. */
  readonly flags: number | undefined;
  readonly comments: readonly string[];
}

export interface PcapngFile {
  readonly sectionOptions: readonly PcapngOption[];
  readonly interfaces: readonly PcapngInterface[];
  readonly packets: readonly PcapngPacket[];
}

const decoder = new TextDecoder();

export function readPcapng(path: string): PcapngFile {
  return parsePcapng(new Uint8Array(readFileSync(path)));
}

export function parsePcapng(bytes: Uint8Array): PcapngFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sectionOptions: PcapngOption[] | undefined;
  const interfaces: PcapngInterface[] = [];
  const packets: PcapngPacket[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 12 > bytes.length) throw new Error(`pcapng: truncated block at ${off}`);
    const type = dv.getUint32(off, true);
    const total = dv.getUint32(off + 4, true);
    if (total % 4 !== 0 || total < 12 || off + total > bytes.length) throw new Error(`pcapng: bad block length ${total} at ${off}`);
    if (dv.getUint32(off + total - 4, true) !== total) throw new Error(`pcapng: trailing length differs at ${off}`);
    const body = off + 8;
    const end = off + total - 4;
    if (type === 0x0a0d0d0a) {
      if (dv.getUint32(body, true) !== 0x1a2b3c4d) throw new Error('pcapng: not a little-endian section');
      if (dv.getUint16(body + 4, true) !== 1 || dv.getUint16(body + 6, true) !== 0) throw new Error('pcapng: version is not 1.0');
      sectionOptions = parseOptions(bytes, dv, body + 16, end);
    } else if (sectionOptions === undefined) {
      throw new Error('pcapng: first block is not a section header');
    } else if (type === 1) {
      const options = parseOptions(bytes, dv, body + 8, end);
      const name = options.find((o) => o.code === 2);
      const tsresol = options.find((o) => o.code === 9);
      interfaces.push({
        linkType: dv.getUint16(body, true),
        snapLen: dv.getUint32(body + 4, true),
        options,
        name: name === undefined ? undefined : decoder.decode(name.value),
        tsresol: tsresol?.value[0],
      });
    } else if (type === 6) {
      const interfaceId = dv.getUint32(body, true);
      if (interfaceId >= interfaces.length) throw new Error(`pcapng: packet on undeclared interface ${interfaceId}`);
      const timestamp = (BigInt(dv.getUint32(body + 4, true)) << 32n) | BigInt(dv.getUint32(body + 8, true));
      const capturedLength = dv.getUint32(body + 12, true);
      const originalLength = dv.getUint32(body + 16, true);
      const dataStart = body + 20;
      const options = parseOptions(bytes, dv, dataStart + ((capturedLength + 3) & ~3), end);
      const flags = options.find((o) => o.code === 2);
      packets.push({
        interfaceId,
        timestamp,
        capturedLength,
        originalLength,
        data: bytes.slice(dataStart, dataStart + capturedLength),
        options,
        flags: flags === undefined ? undefined : new DataView(flags.value.buffer, flags.value.byteOffset).getUint32(0, true),
        comments: options.filter((o) => o.code === 1).map((o) => decoder.decode(o.value)),
      });
    } else {
      throw new Error(`pcapng: unexpected block type 0x${type.toString(16)}`);
    }
    off += total;
  }
  return { sectionOptions: sectionOptions ?? [], interfaces, packets };
}

function parseOptions(bytes: Uint8Array, dv: DataView, start: number, end: number): PcapngOption[] {
  const out: PcapngOption[] = [];
  let off = start;
  if (off === end) return out;
  for (;;) {
    if (off + 4 > end) throw new Error(`pcapng: option runs past its block at ${off}`);
    const code = dv.getUint16(off, true);
    const len = dv.getUint16(off + 2, true);
    if (code === 0) {
      if (len !== 0 || off + 4 !== end) throw new Error(`pcapng: opt_endofopt is not the last 4 bytes of the block at ${off}`);
      return out;
    }
    const padded = (len + 3) & ~3;
    if (off + 4 + padded > end) throw new Error(`pcapng: option ${code} runs past its block at ${off}`);
    out.push({ code, value: bytes.slice(off + 4, off + 4 + len) });
    off += 4 + padded;
  }
}
