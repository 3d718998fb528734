/**
 * Read the version resource (VS_VERSIONINFO) of a Windows PE file (EXE/DLL)
 * in pure TypeScript, without Windows APIs.
 *
 * Walk: DOS header (MZ, e_lfanew) -> "PE\0\0" -> COFF file header ->
 * optional header (PE32 / PE32+) -> data directory #2 (resources) ->
 * RVA -> file offset through the section table -> resource directory tree
 * (type RT_VERSION=16 -> first name -> first language -> data entry) ->
 * VS_VERSIONINFO (VS_FIXEDFILEINFO, StringFileInfo/StringTable/String,
 * VarFileInfo).
 *
 * The parser is written once, as a generator that yields the byte ranges it
 * needs; `parsePeVersion` serves them from an in-memory Buffer and
 * `readPeVersion` from an async random-access reader, so huge files only
 * have their headers, section table and resource tree read.
 *
 * Every offset and length is checked against the file size before use, the
 * resource tree walk is a fixed three levels, and the version-block walk has
 * depth and child-count limits, so malformed input always ends in a
 * PeFormatError (never a hang, a RangeError or a huge allocation).
 */

export interface PeVersionInfo {
  /** StringFileInfo "FileVersion" (trimmed); falls back to fixedFileVersion. */
  fileVersion?: string;
  /** StringFileInfo "ProductVersion" (trimmed); falls back to fixedProductVersion. */
  productVersion?: string;
  /** From VS_FIXEDFILEINFO as "a.b.c.d". */
  fixedFileVersion?: string;
  /** From VS_FIXEDFILEINFO as "a.b.c.d". */
  fixedProductVersion?: string;
  /** StringFileInfo: ProductName, CompanyName, FileVersion, ProductVersion, ... (first language table). */
  strings: Record<string, string>;
  /** 'x86' | 'x64' | 'arm64' | 'arm' | 'ia64' | 'unknown(0x....)' */
  machine: string;
}

export type PeFormatErrorCode =
  | 'not-pe'
  | 'truncated'
  | 'no-resources'
  | 'no-version'
  | 'malformed';

export class PeFormatError extends Error {
  override readonly name = 'PeFormatError';
  readonly code: PeFormatErrorCode;
  constructor(code: PeFormatErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------
// Constants and limits

const IMAGE_DOS_SIGNATURE = 0x5a4d; // "MZ"
const IMAGE_NT_SIGNATURE = 0x00004550; // "PE\0\0"
const PE32_MAGIC = 0x10b;
const PE32PLUS_MAGIC = 0x20b;
const RESOURCE_DIRECTORY_INDEX = 2;
const RT_VERSION = 16;
const VS_FFI_SIGNATURE = 0xfeef04bd;
const VS_FIXEDFILEINFO_SIZE = 52;
const SECTION_HEADER_SIZE = 40;
const COFF_HEADER_SIZE = 20;
const RESOURCE_DIR_SIZE = 16;
const RESOURCE_ENTRY_SIZE = 8;
const RESOURCE_DATA_ENTRY_SIZE = 16;
const HIGH_BIT = 0x80000000;

/** The PE/COFF spec caps the section count at 96; Windows accepts up to 65535 but we stay sane. */
const MAX_SECTIONS = 1024;
/** Max entries of one resource directory level we are willing to scan. */
const MAX_DIR_ENTRIES = 4096;
/** VS_VERSIONINFO wLength is a WORD, so a version resource can't exceed 64 KiB. */
const MAX_VERSION_RESOURCE = 0xffff;
/** VS_VERSIONINFO -> StringFileInfo -> StringTable -> String is depth 3. */
const MAX_BLOCK_DEPTH = 4;
const MAX_BLOCK_CHILDREN = 1024;

const MACHINES: Record<number, string> = {
  0x014c: 'x86',
  0x8664: 'x64',
  0xaa64: 'arm64',
  0xa641: 'arm64ec',
  0xa64e: 'arm64x',
  0x01c0: 'arm',
  0x01c2: 'arm', // thumb
  0x01c4: 'arm', // ARMv7 (Thumb-2)
  0x0200: 'ia64',
  0x0000: 'unknown',
};

export function machineName(code: number): string {
  return MACHINES[code] ?? `unknown(0x${code.toString(16).padStart(4, '0')})`;
}

// ---------------------------------------------------------------------------
// Shared parser core: a generator yielding read requests

interface ReadRequest {
  offset: number;
  length: number;
  what: string;
}

type Parser = Generator<ReadRequest, PeVersionInfo, Buffer>;

interface Section {
  virtualAddress: number;
  virtualSize: number;
  rawPointer: number;
  rawSize: number;
}

function fail(code: PeFormatErrorCode, message: string): never {
  throw new PeFormatError(code, message);
}

/** Checked read request: the whole range must lie inside the file. */
function* need(size: number, offset: number, length: number, what: string): Generator<ReadRequest, Buffer, Buffer> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    fail('malformed', `${what}: invalid range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    fail(
      'truncated',
      `truncated file: ${what} needs bytes ${offset}..${offset + length} but the file is only ${size} bytes`,
    );
  }
  const buf = yield { offset, length, what };
  if (buf.length < length) {
    fail('truncated', `truncated read: ${what} got ${buf.length} of ${length} bytes at offset ${offset}`);
  }
  return buf;
}

function fixedVersion(ms: number, ls: number): string {
  return `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
}

/** Map an RVA to a file offset through the section table (null when unmapped). */
function rvaToOffset(sections: Section[], rva: number, length: number): number | null {
  for (const s of sections) {
    const span = Math.max(s.virtualSize, s.rawSize);
    if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
      const delta = rva - s.virtualAddress;
      // The data must be backed by the section's raw data in the file.
      if (delta + length > s.rawSize) return null;
      return s.rawPointer + delta;
    }
  }
  return null;
}

function* parseCore(size: number): Parser {
  if (!Number.isSafeInteger(size) || size < 0) fail('malformed', `invalid file size ${size}`);
  if (size < 64) {
    fail('not-pe', `not a PE file: ${size} bytes is smaller than a 64-byte DOS header`);
  }

  // --- DOS header
  const dos = yield* need(size, 0, 64, 'DOS header');
  if (dos.readUInt16LE(0) !== IMAGE_DOS_SIGNATURE) fail('not-pe', 'not a PE file: missing "MZ" DOS signature');
  const peOffset = dos.readUInt32LE(0x3c);
  if (peOffset < 4 || peOffset + 4 + COFF_HEADER_SIZE > size) {
    fail(
      peOffset >= size ? 'truncated' : 'not-pe',
      `not a PE file: e_lfanew 0x${peOffset.toString(16)} does not point inside the ${size}-byte file`,
    );
  }

  // --- PE signature + COFF header
  const nt = yield* need(size, peOffset, 4 + COFF_HEADER_SIZE, 'PE signature and COFF header');
  if (nt.readUInt32LE(0) !== IMAGE_NT_SIGNATURE) {
    fail('not-pe', `not a PE file: no "PE\\0\\0" signature at e_lfanew 0x${peOffset.toString(16)} (MS-DOS or NE/LE executable?)`);
  }
  const machine = machineName(nt.readUInt16LE(4));
  const numberOfSections = nt.readUInt16LE(6);
  const sizeOfOptionalHeader = nt.readUInt16LE(20);
  if (numberOfSections === 0) fail('no-resources', 'PE file has no sections, so no resource section');
  if (numberOfSections > MAX_SECTIONS) fail('malformed', `PE file claims ${numberOfSections} sections`);

  // --- Optional header
  const optOffset = peOffset + 4 + COFF_HEADER_SIZE;
  if (sizeOfOptionalHeader < 2) fail('malformed', `optional header too small (${sizeOfOptionalHeader} bytes)`);
  const opt = yield* need(size, optOffset, sizeOfOptionalHeader, 'optional header');
  const magic = opt.readUInt16LE(0);
  let ddOffset: number; // offset of the data directories inside the optional header
  let countOffset: number; // offset of NumberOfRvaAndSizes
  if (magic === PE32_MAGIC) {
    countOffset = 92;
    ddOffset = 96;
  } else if (magic === PE32PLUS_MAGIC) {
    countOffset = 108;
    ddOffset = 112;
  } else {
    fail('malformed', `unknown optional header magic 0x${magic.toString(16)} (expected 0x10b PE32 or 0x20b PE32+)`);
  }
  if (sizeOfOptionalHeader < countOffset + 4) {
    fail('no-resources', `optional header (${sizeOfOptionalHeader} bytes) has no data directories`);
  }
  const rvaCount = opt.readUInt32LE(countOffset);
  const dirEnd = ddOffset + (RESOURCE_DIRECTORY_INDEX + 1) * 8;
  if (rvaCount <= RESOURCE_DIRECTORY_INDEX || sizeOfOptionalHeader < dirEnd) {
    fail('no-resources', `no resource data directory (NumberOfRvaAndSizes = ${rvaCount})`);
  }
  const rsrcRva = opt.readUInt32LE(ddOffset + RESOURCE_DIRECTORY_INDEX * 8);
  const rsrcSize = opt.readUInt32LE(ddOffset + RESOURCE_DIRECTORY_INDEX * 8 + 4);
  if (rsrcRva === 0 || rsrcSize === 0) fail('no-resources', 'PE file has no resource section (resource directory is empty)');

  // --- Section table
  const secOffset = optOffset + sizeOfOptionalHeader;
  const secTable = yield* need(size, secOffset, numberOfSections * SECTION_HEADER_SIZE, 'section table');
  const sections: Section[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const b = i * SECTION_HEADER_SIZE;
    sections.push({
      virtualSize: secTable.readUInt32LE(b + 8),
      virtualAddress: secTable.readUInt32LE(b + 12),
      rawSize: secTable.readUInt32LE(b + 16),
      rawPointer: secTable.readUInt32LE(b + 20),
    });
  }

  const rsrcBase = rvaToOffset(sections, rsrcRva, RESOURCE_DIR_SIZE);
  if (rsrcBase === null) {
    fail('malformed', `resource directory RVA 0x${rsrcRva.toString(16)} is not backed by any section in the file`);
  }
  // Offsets inside the tree are relative to rsrcBase. Bound them by the raw data of the section
  // holding the directory (some linkers/packers understate the directory Size) and by the file.
  const rsrcSection = sections.find((s) => rsrcBase >= s.rawPointer && rsrcBase < s.rawPointer + s.rawSize)!;
  const rsrcLimit = Math.min(size, rsrcSection.rawPointer + rsrcSection.rawSize) - rsrcBase;

  function* readDir(rel: number, level: string): Generator<ReadRequest, { named: number; ids: number }, Buffer> {
    if (rel + RESOURCE_DIR_SIZE > rsrcLimit) {
      fail(rsrcBase! + rel + RESOURCE_DIR_SIZE > size ? 'truncated' : 'malformed', `${level} resource directory at +0x${rel.toString(16)} lies outside the resource section`);
    }
    const d = yield* need(size, rsrcBase! + rel, RESOURCE_DIR_SIZE, `${level} resource directory`);
    return { named: d.readUInt16LE(12), ids: d.readUInt16LE(14) };
  }

  function* readEntries(rel: number, count: number, level: string): Generator<ReadRequest, Array<[number, number]>, Buffer> {
    const n = Math.min(count, MAX_DIR_ENTRIES);
    const start = rel + RESOURCE_DIR_SIZE;
    if (start + n * RESOURCE_ENTRY_SIZE > rsrcLimit) {
      fail(
        rsrcBase! + start + n * RESOURCE_ENTRY_SIZE > size ? 'truncated' : 'malformed',
        `${level} resource directory entries at +0x${start.toString(16)} run past the resource section`,
      );
    }
    const e = yield* need(size, rsrcBase! + start, n * RESOURCE_ENTRY_SIZE, `${level} resource directory entries`);
    const out: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) out.push([e.readUInt32LE(i * 8), e.readUInt32LE(i * 8 + 4)]);
    return out;
  }

  // Level 1: type. RT_VERSION is an integer ID, so skip the named entries.
  const root = yield* readDir(0, 'root');
  if (root.ids === 0) fail('no-version', 'PE file has no version resource (resource tree has no integer type IDs)');
  const rootEntries = yield* readEntries(0, root.named + root.ids, 'root');
  const versionEntry = rootEntries.slice(Math.min(root.named, rootEntries.length)).find(([id]) => id === RT_VERSION);
  if (!versionEntry) fail('no-version', 'PE file has no version resource (no RT_VERSION in the resource tree)');

  // Level 2: first name; level 3: first language.
  let target = versionEntry[1];
  for (const level of ['RT_VERSION name', 'RT_VERSION language']) {
    if ((target & HIGH_BIT) === 0) fail('malformed', `${level} level is a data entry where a directory was expected`);
    const rel = target & 0x7fffffff;
    const dir = yield* readDir(rel, level);
    const count = dir.named + dir.ids;
    if (count === 0) fail('no-version', `version resource has an empty ${level} directory`);
    const [first] = yield* readEntries(rel, 1, level);
    target = first[1];
  }
  if ((target & HIGH_BIT) !== 0) fail('malformed', 'version resource leaf is a directory where a data entry was expected');
  if (target + RESOURCE_DATA_ENTRY_SIZE > rsrcLimit) {
    fail(rsrcBase + target + RESOURCE_DATA_ENTRY_SIZE > size ? 'truncated' : 'malformed', 'version resource data entry lies outside the resource section');
  }
  const de = yield* need(size, rsrcBase + target, RESOURCE_DATA_ENTRY_SIZE, 'version resource data entry');
  const dataRva = de.readUInt32LE(0);
  const dataSize = Math.min(de.readUInt32LE(4), MAX_VERSION_RESOURCE);
  if (dataSize < 6) fail('malformed', `version resource is too small (${dataSize} bytes)`);
  const dataOffset = rvaToOffset(sections, dataRva, dataSize);
  if (dataOffset === null) {
    fail('truncated', `version resource data (RVA 0x${dataRva.toString(16)}, ${dataSize} bytes) is not backed by file data`);
  }
  const data = yield* need(size, dataOffset, dataSize, 'version resource data');

  return { ...parseVersionResource(data), machine };
}

// ---------------------------------------------------------------------------
// VS_VERSIONINFO

interface Block {
  key: string;
  type: number;
  valueStart: number;
  /** wValueLength as stored (bytes for binary, WCHARs for text). */
  valueLength: number;
  end: number;
  children: Block[];
}

const align4 = (n: number) => (n + 3) & ~3;

/**
 * Parse one version block (wLength, wValueLength, wType, szKey, padding,
 * value, padding, children) at `start`, bounded by `limit`.
 */
function parseBlock(buf: Buffer, start: number, limit: number, depth: number): Block {
  if (depth > MAX_BLOCK_DEPTH) fail('malformed', 'version resource nests too deeply');
  if (start + 6 > limit) fail('malformed', `version block at ${start} is truncated`);
  const wLength = buf.readUInt16LE(start);
  const wValueLength = buf.readUInt16LE(start + 2);
  const wType = buf.readUInt16LE(start + 4);
  if (wLength < 6) fail('malformed', `version block at ${start} has invalid length ${wLength}`);
  const end = Math.min(start + wLength, limit);

  // szKey: NUL-terminated UTF-16LE
  let p = start + 6;
  let key = '';
  let terminated = false;
  while (p + 2 <= end) {
    const c = buf.readUInt16LE(p);
    p += 2;
    if (c === 0) {
      terminated = true;
      break;
    }
    key += String.fromCharCode(c);
  }
  if (!terminated) fail('malformed', `version block at ${start} has an unterminated key`);
  const valueStart = align4(p);
  const valueBytes = wType === 1 ? wValueLength * 2 : wValueLength;

  const children: Block[] = [];
  let c = align4(valueStart + valueBytes);
  while (c + 6 <= end && children.length < MAX_BLOCK_CHILDREN) {
    // Tolerate a malformed tail after good children (seen in real files),
    // but a malformed first child is an error.
    let child: Block;
    try {
      child = parseBlock(buf, c, end, depth + 1);
    } catch (e) {
      if (children.length > 0 && e instanceof PeFormatError) break;
      throw e;
    }
    children.push(child);
    const next = align4(child.end);
    if (next <= c) break; // cannot happen (wLength >= 6) but never loop in place
    c = next;
  }
  return { key, type: wType, valueStart, valueLength: wValueLength, end, children };
}

function readText(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let p = start; p + 2 <= end; p += 2) {
    const c = buf.readUInt16LE(p);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function parseVersionResource(buf: Buffer): Omit<PeVersionInfo, 'machine'> {
  const root = parseBlock(buf, 0, buf.length, 0);
  if (root.key !== 'VS_VERSION_INFO') {
    fail('malformed', `version resource key is "${root.key.slice(0, 40)}", expected "VS_VERSION_INFO"`);
  }
  const info: Omit<PeVersionInfo, 'machine'> = { strings: {} };

  if (root.valueLength !== 0) {
    if (root.valueLength < VS_FIXEDFILEINFO_SIZE || root.valueStart + VS_FIXEDFILEINFO_SIZE > root.end) {
      fail('malformed', `VS_FIXEDFILEINFO is truncated (${root.valueLength} bytes)`);
    }
    const v = root.valueStart;
    const sig = buf.readUInt32LE(v);
    if (sig !== VS_FFI_SIGNATURE) {
      fail('malformed', `VS_FIXEDFILEINFO signature is 0x${sig.toString(16)}, expected 0xfeef04bd`);
    }
    info.fixedFileVersion = fixedVersion(buf.readUInt32LE(v + 8), buf.readUInt32LE(v + 12));
    info.fixedProductVersion = fixedVersion(buf.readUInt32LE(v + 16), buf.readUInt32LE(v + 20));
  }

  const sfi = root.children.find((b) => b.key === 'StringFileInfo');
  const table = sfi?.children[0]; // first language table (e.g. "040904b0")
  if (table) {
    for (const s of table.children) {
      if (!s.key || Object.prototype.hasOwnProperty.call(info.strings, s.key)) continue;
      info.strings[s.key] = s.valueLength === 0 ? '' : readText(buf, s.valueStart, s.end);
    }
  }
  // VarFileInfo ("Translation") carries language/codepage pairs only; nothing to report.

  const fv = info.strings.FileVersion?.trim();
  const pv = info.strings.ProductVersion?.trim();
  const fileVersion = fv || info.fixedFileVersion;
  const productVersion = pv || info.fixedProductVersion;
  if (fileVersion !== undefined) info.fileVersion = fileVersion;
  if (productVersion !== undefined) info.productVersion = productVersion;
  return info;
}

// ---------------------------------------------------------------------------
// Public entry points

function wrapUnexpected(e: unknown): never {
  if (e instanceof PeFormatError) throw e;
  // Defensive: any stray RangeError etc. from a Buffer read means malformed input.
  throw new PeFormatError('malformed', `malformed PE file: ${e instanceof Error ? e.message : String(e)}`);
}

/** Parse the version resource of a PE file held in memory. Throws PeFormatError. */
export function parsePeVersion(buf: Buffer): PeVersionInfo {
  try {
    const gen = parseCore(buf.length);
    let step = gen.next();
    while (!step.done) {
      const { offset, length } = step.value;
      step = gen.next(buf.subarray(offset, offset + length));
    }
    return step.value;
  } catch (e) {
    wrapUnexpected(e);
  }
}

/**
 * Random-access variant: reads only the headers, the section table, the
 * resource directory path to RT_VERSION and the version resource itself
 * (typically 2-4 KiB in ~12 reads; hard-capped near 200 KiB even for hostile
 * headers), never the whole file. Errors from `read` itself
 * (e.g. EIO) propagate unchanged; format problems throw PeFormatError.
 */
export async function readPeVersion(
  read: (offset: number, length: number) => Promise<Buffer>,
  size: number,
): Promise<PeVersionInfo> {
  let gen: Parser;
  let step: IteratorResult<ReadRequest, PeVersionInfo>;
  try {
    gen = parseCore(size);
    step = gen.next();
  } catch (e) {
    wrapUnexpected(e);
  }
  while (!step.done) {
    const { offset, length } = step.value;
    const chunk = await read(offset, length); // reader errors are not format errors
    try {
      step = gen.next(chunk.length > length ? chunk.subarray(0, length) : chunk);
    } catch (e) {
      wrapUnexpected(e);
    }
  }
  return step.value;
}
