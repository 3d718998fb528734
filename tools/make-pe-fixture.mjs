#!/usr/bin/env node
// Write a minimal but valid PE32+ (x64) executable whose .rsrc section holds
// a VS_VERSIONINFO resource, for tests of src/farm/pe-version.ts.
//
//   node tools/make-pe-fixture.mjs <out.exe> <fileVersion> [productVersion]
//        [--no-version]        .rsrc holds only an RT_MANIFEST, no RT_VERSION
//        [--text-size <bytes>] size of the (zero-filled) .text section placed
//                              before .rsrc, to build large files
//
// e.g. node tools/make-pe-fixture.mjs fixtures/pe/W6Server-8.1.15.2207.exe 8.1.15.2207
//
// Layout: DOS header (e_lfanew=0x40) | PE\0\0 | COFF | PE32+ optional header
// (16 data directories) | 2 section headers | .text (xor eax,eax; ret) | .rsrc
// The file is deterministic (fixed timestamp) so regenerating it gives the same bytes.

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const FILE_ALIGN = 0x200;
const SECT_ALIGN = 0x1000;
const alignUp = (n, a) => Math.ceil(n / a) * a;
const TIMESTAMP = 0x65000000; // fixed, for reproducible output

function utf16z(s) {
  return Buffer.from(s + '\0', 'utf16le');
}

function pad4(buf) {
  const n = (4 - (buf.length % 4)) % 4;
  return n ? Buffer.concat([buf, Buffer.alloc(n)]) : buf;
}

/**
 * One version block: WORD wLength, WORD wValueLength, WORD wType, WCHAR szKey[],
 * padding to 32 bits, Value, padding, Children (each 32-bit aligned).
 * wLength covers everything except the trailing padding after the last child.
 */
function vblock(key, { value = Buffer.alloc(0), valueLength = value.length, type = 0, children = [] } = {}) {
  let body = pad4(Buffer.concat([Buffer.alloc(6), utf16z(key)]));
  body = Buffer.concat([body, value]);
  for (const child of children) body = Buffer.concat([pad4(body), child]);
  body.writeUInt16LE(body.length, 0);
  body.writeUInt16LE(valueLength, 2);
  body.writeUInt16LE(type, 4);
  return body;
}

function stringEntry(key, text) {
  const value = utf16z(text);
  return vblock(key, { value, valueLength: text.length + 1, type: 1 });
}

function parseVersion(v) {
  const parts = String(v).split('.').map((p) => Number.parseInt(p, 10));
  while (parts.length < 4) parts.push(0);
  if (parts.length > 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 0xffff)) {
    throw new Error(`invalid version "${v}" (expected up to four 16-bit numbers, e.g. 8.1.15.2207)`);
  }
  return [((parts[0] << 16) | parts[1]) >>> 0, ((parts[2] << 16) | parts[3]) >>> 0];
}

export function buildVersionInfo({
  fileVersion,
  productVersion = fileVersion,
  strings = {},
}) {
  const [fvMS, fvLS] = parseVersion(fileVersion);
  const [pvMS, pvLS] = parseVersion(productVersion);
  const ffi = Buffer.alloc(52);
  ffi.writeUInt32LE(0xfeef04bd, 0); // dwSignature
  ffi.writeUInt32LE(0x00010000, 4); // dwStrucVersion 1.0
  ffi.writeUInt32LE(fvMS, 8);
  ffi.writeUInt32LE(fvLS, 12);
  ffi.writeUInt32LE(pvMS, 16);
  ffi.writeUInt32LE(pvLS, 20);
  ffi.writeUInt32LE(0x3f, 24); // dwFileFlagsMask
  ffi.writeUInt32LE(0, 28); // dwFileFlags
  ffi.writeUInt32LE(0x00040004, 32); // dwFileOS = VOS_NT_WINDOWS32
  ffi.writeUInt32LE(1, 36); // dwFileType = VFT_APP
  // dwFileSubtype, dwFileDateMS, dwFileDateLS = 0

  const all = {
    CompanyName: 'ClickSoftware Technologies',
    FileDescription: 'ClickSoftware Service Optimization Server',
    FileVersion: fileVersion,
    InternalName: 'W6Server',
    OriginalFilename: 'W6Server.exe',
    ProductName: 'ClickSoftware Service Optimization',
    ProductVersion: productVersion,
    ...strings,
  };
  const table = vblock('040904b0', {
    type: 1,
    children: Object.entries(all).map(([k, v]) => stringEntry(k, v)),
  });
  const sfi = vblock('StringFileInfo', { type: 1, children: [table] });
  const translation = Buffer.alloc(4);
  translation.writeUInt16LE(0x0409, 0); // en-US
  translation.writeUInt16LE(1200, 2); // Unicode
  const vfi = vblock('VarFileInfo', {
    type: 1,
    children: [vblock('Translation', { value: translation, type: 0 })],
  });
  return vblock('VS_VERSION_INFO', { value: ffi, type: 0, children: [sfi, vfi] });
}

const MANIFEST = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0"></assembly>\r\n',
  'utf8',
);

/**
 * .rsrc: root dir -> type (16 RT_VERSION or 24 RT_MANIFEST) -> name 1 -> lang 0x409 -> data entry -> data.
 * Directory offsets are relative to the start of .rsrc; the data entry holds an RVA.
 */
function buildRsrc(rsrcRva, typeId, data) {
  const dir = (subOffset, id) => {
    const b = Buffer.alloc(16 + 8);
    b.writeUInt16LE(0, 12); // NumberOfNamedEntries
    b.writeUInt16LE(1, 14); // NumberOfIdEntries
    b.writeUInt32LE(id, 16);
    b.writeUInt32LE(subOffset, 20);
    return b;
  };
  const typeDir = dir((0x18 | 0x80000000) >>> 0, typeId);
  const nameDir = dir((0x30 | 0x80000000) >>> 0, 1);
  const langDir = dir(0x48, 0x0409);
  const dataEntry = Buffer.alloc(16);
  const dataRel = 0x58;
  dataEntry.writeUInt32LE(rsrcRva + dataRel, 0); // OffsetToData (RVA)
  dataEntry.writeUInt32LE(data.length, 4); // Size
  dataEntry.writeUInt32LE(0, 8); // CodePage
  return Buffer.concat([typeDir, nameDir, langDir, dataEntry, data]);
}

export function buildPe({
  fileVersion = '1.0.0.0',
  productVersion = fileVersion,
  strings = {},
  version = true,
  textSize = FILE_ALIGN,
} = {}) {
  const peOff = 0x40;
  const nSections = 2;
  const optSize = 112 + 16 * 8; // PE32+ fixed part + 16 data directories
  const secTableOff = peOff + 4 + 20 + optSize;
  const headersSize = alignUp(secTableOff + nSections * 40, FILE_ALIGN);

  const textRaw = alignUp(Math.max(textSize, 3), FILE_ALIGN);
  const textRva = SECT_ALIGN;
  const textPtr = headersSize;

  const rsrcRva = alignUp(textRva + textRaw, SECT_ALIGN);
  const rsrcPtr = textPtr + textRaw;
  const payload = version ? buildVersionInfo({ fileVersion, productVersion, strings }) : MANIFEST;
  const rsrc = buildRsrc(rsrcRva, version ? 16 : 24, payload);
  const rsrcRaw = alignUp(rsrc.length, FILE_ALIGN);
  const imageSize = alignUp(rsrcRva + rsrc.length, SECT_ALIGN);

  const buf = Buffer.alloc(rsrcPtr + rsrcRaw);

  // DOS header
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt16LE(0x90, 2); // e_cblp
  buf.writeUInt16LE(3, 4); // e_cp
  buf.writeUInt16LE(4, 8); // e_cparhdr
  buf.writeUInt16LE(0xffff, 12); // e_maxalloc
  buf.writeUInt16LE(0xb8, 16); // e_sp
  buf.writeUInt16LE(0x40, 24); // e_lfarlc
  buf.writeUInt32LE(peOff, 0x3c); // e_lfanew

  // PE signature + COFF header
  buf.write('PE\0\0', peOff, 'latin1');
  const coff = peOff + 4;
  buf.writeUInt16LE(0x8664, coff); // Machine = AMD64
  buf.writeUInt16LE(nSections, coff + 2);
  buf.writeUInt32LE(TIMESTAMP, coff + 4);
  buf.writeUInt16LE(optSize, coff + 16);
  buf.writeUInt16LE(0x0022, coff + 18); // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE

  // Optional header (PE32+)
  const o = coff + 20;
  buf.writeUInt16LE(0x20b, o); // Magic
  buf.writeUInt8(14, o + 2); // MajorLinkerVersion
  buf.writeUInt32LE(textRaw, o + 4); // SizeOfCode
  buf.writeUInt32LE(rsrcRaw, o + 8); // SizeOfInitializedData
  buf.writeUInt32LE(textRva, o + 16); // AddressOfEntryPoint
  buf.writeUInt32LE(textRva, o + 20); // BaseOfCode
  buf.writeBigUInt64LE(0x140000000n, o + 24); // ImageBase
  buf.writeUInt32LE(SECT_ALIGN, o + 32);
  buf.writeUInt32LE(FILE_ALIGN, o + 36);
  buf.writeUInt16LE(6, o + 40); // MajorOperatingSystemVersion
  buf.writeUInt16LE(6, o + 48); // MajorSubsystemVersion
  buf.writeUInt32LE(imageSize, o + 56); // SizeOfImage
  buf.writeUInt32LE(headersSize, o + 60); // SizeOfHeaders
  buf.writeUInt16LE(3, o + 68); // Subsystem = WINDOWS_CUI
  buf.writeUInt16LE(0x8160, o + 70); // DllCharacteristics: HIGH_ENTROPY_VA|DYNAMIC_BASE|NX_COMPAT|TERMINAL_SERVER_AWARE
  buf.writeBigUInt64LE(0x100000n, o + 72); // SizeOfStackReserve
  buf.writeBigUInt64LE(0x1000n, o + 80); // SizeOfStackCommit
  buf.writeBigUInt64LE(0x100000n, o + 88); // SizeOfHeapReserve
  buf.writeBigUInt64LE(0x1000n, o + 96); // SizeOfHeapCommit
  buf.writeUInt32LE(16, o + 108); // NumberOfRvaAndSizes
  buf.writeUInt32LE(rsrcRva, o + 112 + 2 * 8); // DataDirectory[RESOURCE].VirtualAddress
  buf.writeUInt32LE(rsrc.length, o + 112 + 2 * 8 + 4); // .Size

  // Section headers
  const section = (i, name, vsize, rva, rawSize, rawPtr, characteristics) => {
    const s = secTableOff + i * 40;
    buf.write(name, s, 'latin1');
    buf.writeUInt32LE(vsize, s + 8);
    buf.writeUInt32LE(rva, s + 12);
    buf.writeUInt32LE(rawSize, s + 16);
    buf.writeUInt32LE(rawPtr, s + 20);
    buf.writeUInt32LE(characteristics >>> 0, s + 36);
  };
  section(0, '.text', textRaw, textRva, textRaw, textPtr, 0x60000020); // CODE|EXECUTE|READ
  section(1, '.rsrc', rsrc.length, rsrcRva, rsrcRaw, rsrcPtr, 0x40000040); // INITIALIZED_DATA|READ

  // .text: xor eax, eax; ret
  buf.set([0x31, 0xc0, 0xc3], textPtr);
  rsrc.copy(buf, rsrcPtr);
  return buf;
}

function main(argv) {
  const args = [];
  let version = true;
  let textSize;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-version') version = false;
    else if (argv[i] === '--text-size') textSize = Number(argv[++i]);
    else args.push(argv[i]);
  }
  const [out, fileVersion, productVersion] = args;
  if (!out || (version && !fileVersion)) {
    console.error('usage: node tools/make-pe-fixture.mjs <out.exe> <fileVersion> [productVersion] [--no-version] [--text-size <bytes>]');
    process.exit(2);
  }
  const buf = buildPe({ fileVersion: fileVersion ?? '1.0.0.0', productVersion, version, textSize });
  writeFileSync(out, buf);
  console.log(`wrote ${out} (${buf.length} bytes${version ? `, version ${fileVersion}` : ', no version resource'})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2));
}
