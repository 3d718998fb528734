// Unit tests of the streaming reader on the fixtures shipped in fixtures/evtx (no ../shared needed).
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { evtxStats, levelName, parseLevels, readEvtx, renderJsonLine } from '../../src/logs/evtx/index.js';
import { decodeArray, decodeScalar, fileTimeToIso, FileTime, readFileTimeDate, ValueType } from '../../src/logs/evtx/values.js';
import { ChunkContext, type Node, NodeKind, TemplateInstance } from '../../src/logs/evtx/binxml.js';
import { renderXml, resolveNodes } from '../../src/logs/evtx/resolve.js';
import { fixture, readAll, repoRoot } from './helpers.js';

/** Feeds a file through an AsyncIterable in awkward piece sizes, like an SFTP stream would. */
async function* oddPieces(path: string, sizes: number[]): AsyncGenerator<Uint8Array> {
  const data = readFileSync(path);
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length];
    yield new Uint8Array(data.subarray(at, at + n));
    at += n;
  }
}

describe('readEvtx on shipped fixtures', () => {
  it('reads System/Security/Application logs with typed System fields', async () => {
    const { records, warnings } = await readAll(fixture('omerbenamram-Security_short_selected.evtx'));
    expect(warnings).toEqual([]);
    expect(records).toHaveLength(7);
    const r = records[0];
    // This filtered log keeps the original EventRecordID; the record header numbers from 1.
    expect(r.recordId).toBe(319457771);
    expect(r.headerRecordId).toBe(1);
    expect(r.xml()).toContain('<EventRecordID>319457771</EventRecordID>');
    const line = JSON.parse(renderJsonLine(r));
    expect(line.recordId).toBe(319457771);
    expect(line.headerRecordId).toBe(1);
    expect(r.system).toMatchObject({
      provider: 'Microsoft-Windows-Security-Auditing',
      providerGuid: '{54849625-5478-4994-A5BA-3E3B0328C30D}',
      eventId: 5152,
      level: 0,
      task: 12809,
      opcode: 0,
      keywords: '0x8010000000000000',
      computer: 'temporal',
      channel: 'Security',
      processId: 4,
      threadId: 80,
    });
    expect(r.system.timeCreated?.toISOString()).toBe('2016-06-29T15:24:34.346Z');
    expect(r.data).toMatchObject({ SourceAddress: '23.94.153.202', DestPort: '3389', Direction: '%%14592' });
    expect(r.xml()).toContain('<Data Name="SourceAddress">23.94.153.202</Data>');
    expect(r.xml()).toMatch(/^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event">\n {2}<System>/);

    const app = await readAll(fixture('omerbenamram-Application_no_crc32.evtx'));
    expect(app.records).toHaveLength(17);
    expect(app.warnings).toEqual([]); // flag 0x4: no CRC to check

    const sys = await readAll(fixture('NickSmet-System.evtx'));
    expect(sys.records).toHaveLength(1247);
    expect(sys.warnings).toEqual([]);
    expect(sys.records.every((x) => x.system.channel === 'System' && x.system.timeCreated instanceof Date)).toBe(true);
  });

  it('renders SIDs, nested BinXml (UserData), entity references and optional attributes', async () => {
    const { records } = await readAll(fixture('omerbenamram-CAPI2-Operational.evtx'));
    expect(records).toHaveLength(340);
    const r = records[0];
    expect(r.system.userSid).toBe('S-1-5-21-1223297778-3299746493-1462173606-500');
    expect(r.data).toMatchObject({ ProcessName: 'Setup.exe' });
    expect(r.xml()).toContain('<UserData>');
    // Entity references inside attribute values survive as text and are escaped again on output.
    const withEntity = records.find((x) => /&(amp|lt|gt|quot);/.test(x.xml()));
    expect(withEntity).toBeDefined();
    const sec = await readAll(fixture('omerbenamram-Security_short_selected.evtx'));
    // <Security/> without UserID: the optional substitution is NULL, so the attribute is dropped.
    expect(sec.records[0].xml()).toContain('<Security/>');
    expect(sec.records[0].system.userSid).toBeUndefined();
  });

  it('reads a forwarded (WEC) record made of plain elements', async () => {
    const { records } = await readAll(fixture('omerbenamram-MSExchange_Management_wec.evtx'));
    expect(records).toHaveLength(1);
    expect(records[0].system).toMatchObject({ provider: 'MSExchange CmdletLogs', eventId: 1, level: 4, computer: 'WEC.ave.local' });
    expect(records[0].data['Data[0]']).toBe('Set-Mailbox');
  });

  it('gives the same records from a byte stream in odd-sized pieces as from the path', async () => {
    const path = fixture('omerbenamram-sample_with_a_bad_chunk_magic.evtx');
    const fromPath = await readAll(path);
    const fromStream = await readAll(oddPieces(path, [1, 4095, 3, 70000, 65536, 12345]));
    const fromReadable = await readAll(createReadStream(path, { highWaterMark: 10000 }));
    expect(fromStream.records.map(renderJsonLine)).toEqual(fromPath.records.map(renderJsonLine));
    expect(fromReadable.records.length).toBe(fromPath.records.length);
    expect(fromStream.warnings).toEqual(fromPath.warnings);
  });
});

describe('damaged files', () => {
  it('skips bad-magic chunks with a warning and keeps the torn records the Rust crate keeps', async () => {
    const { records, warnings } = await readAll(fixture('omerbenamram-sample_with_a_bad_chunk_magic.evtx'));
    expect(records).toHaveLength(270);
    const badMagic = warnings.filter((w) => w.kind === 'chunk' && w.reason.startsWith('bad chunk magic'));
    expect(badMagic).toHaveLength(2);
    for (const w of badMagic) expect((w.offset - 4096) % 65536).toBe(0);
    expect(warnings.filter((w) => w.reason.includes('data CRC mismatch')).length).toBeGreaterThan(0);
  });

  it('reads chunks beyond the header chunk count (VSS copy with zeroed chunks in between)', async () => {
    const { records } = await readAll(fixture('omerbenamram-2-vss_7-System.evtx'));
    expect(records).toHaveLength(1160);
  });

  it('reads the complete records of a truncated last chunk and reports the truncation', async () => {
    const { records, warnings } = await readAll(fixture('log2timeline-System2.evtx'));
    expect(records).toHaveLength(283);
    expect(warnings.some((w) => w.kind === 'chunk' && w.reason.startsWith('truncated chunk'))).toBe(true);
    expect(warnings.some((w) => w.kind === 'record' && w.reason.startsWith('bad record size'))).toBe(true);
  });

  it('keeps a record with an incomplete SID (HelloForBusiness)', async () => {
    const { records } = await readAll(fixture('omerbenamram-HelloForBusiness-Operational.evtx'));
    expect(records).toHaveLength(6);
  });

  it('reports a dirty header CRC but still reads the file', async () => {
    const data = Buffer.from(readFileSync(fixture('omerbenamram-Security_short_selected.evtx')));
    data[40] ^= 0xff; // inside the CRC-covered range, not a field the reader relies on
    const { records, warnings } = await readAll([data]);
    expect(records).toHaveLength(7);
    expect(warnings).toEqual([expect.objectContaining({ kind: 'header', reason: expect.stringContaining('file header CRC mismatch') })]);
  });

  it('reads the chunks behind a zeroed file header', async () => {
    const data = Buffer.from(readFileSync(fixture('omerbenamram-Security_short_selected.evtx')));
    data.fill(0, 0, 4096);
    const { records, warnings } = await readAll([data]);
    expect(records).toHaveLength(7);
    expect(warnings.map((w) => w.kind)).toEqual(['header']);
  });

  it('reports a non-evtx input and yields nothing', async () => {
    const big = await readAll([Buffer.alloc(5 * 65536 + 4096, 'x')]);
    expect(big.records).toEqual([]);
    expect(big.warnings.map((w) => w.kind)).toEqual(['header', 'chunk']);

    const { records, warnings } = await readAll([Buffer.from('not an event log at all')]);
    expect(records).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].kind).toBe('header');
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    let n = 0;
    await expect(
      (async () => {
        for await (const _r of readEvtx(fixture('NickSmet-System.evtx'), { signal: ac.signal })) {
          if (++n === 10) ac.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(n).toBe(10);
  });

  it('closes the file when the consumer stops early', async () => {
    for await (const _r of readEvtx(fixture('NickSmet-System.evtx'))) break;
    // Reaching here without an open-handle error or hang is the assertion; read again to be sure.
    const { records } = await readAll(Readable.from([readFileSync(fixture('omerbenamram-new-user-security.evtx'))]));
    expect(records).toHaveLength(4);
  });
});

describe('evtxStats, levels and JSON lines', () => {
  it('counts records, levels, providers, time range and warnings', async () => {
    const s = await evtxStats(fixture('omerbenamram-sample_with_a_bad_chunk_magic.evtx'));
    expect(s.records).toBe(270);
    // 2 bad-magic chunks and 10 zeroed ones the header counts among its 16 (slots C00000XCCCX00000).
    expect(s.skippedChunks).toBe(12);
    expect(s.warnings.filter((w) => w.reason.startsWith('zeroed chunk'))).toHaveLength(10);
    expect(s.chunks).toBe(4);
    expect(s.skippedRecords).toBe(0);
    expect(s.degradedRecords).toBe(0);
    expect(Object.values(s.byLevel).reduce((a, b) => a + b, 0)).toBe(270);
    expect(Object.values(s.byProvider).reduce((a, b) => a + b, 0)).toBe(270);
    expect(s.first!.getTime()).toBeLessThanOrEqual(s.last!.getTime());
    expect(s.warnings.length).toBeGreaterThanOrEqual(2);
  });

  it('names levels and parses level lists', () => {
    expect([0, 1, 2, 3, 4, 5].map(levelName)).toEqual(['LogAlways', 'Critical', 'Error', 'Warning', 'Information', 'Verbose']);
    expect(levelName(17)).toBe('Level17');
    expect(parseLevels('error,Warning,4')).toEqual([2, 3, 4]);
    expect(parseLevels('bogus')).toBeUndefined();
  });

  it('renders one parseable JSON object per record', async () => {
    const { records } = await readAll(fixture('omerbenamram-new-user-security.evtx'));
    for (const r of records) {
      const line = renderJsonLine(r);
      expect(line).not.toContain('\n');
      const o = JSON.parse(line);
      expect(o.eventId).toBe(r.system.eventId);
      // 7 fraction digits as Windows renders SystemTime; the Date holds the same instant cut to ms.
      expect(o.timeCreated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
      expect(o.timeCreated.slice(0, 23)).toBe(r.system.timeCreated?.toISOString().slice(0, 23));
      expect(Date.parse(o.timeCreated)).toBe(r.system.timeCreated?.getTime());
      expect(o.recordId).toBe(Number(r.xml().match(/<EventRecordID>(\d+)</)?.[1]));
      expect(o.data).toEqual(JSON.parse(JSON.stringify(r.data)));
    }
  });
});

describe('value decoding', () => {
  const buf = (hex: string) => Buffer.from(hex.replace(/\s/g, ''), 'hex');

  it('formats GUID, SID, FILETIME, SYSTEMTIME, hex and bool values like Windows', () => {
    const guid = buf('2596845478549449a5ba3e3b0328c30d');
    expect(decodeScalar(guid, ValueType.Guid, 0, 16)).toBe('{54849625-5478-4994-A5BA-3E3B0328C30D}');
    const sid = buf('0105 000000000005 15000000 f20aea48 bd22aec4 a6ff2657 f4010000');
    expect(decodeScalar(sid, ValueType.Sid, 0, sid.length)).toBe('S-1-5-21-1223297778-3299746493-1462173606-500');
    const ft = Buffer.alloc(8);
    ft.writeBigUInt64LE(131120000000000000n + 1234567n);
    expect(fileTimeToIso(131120000000000000n + 1234567n)).toBe('2016-07-03T06:13:20.1234567Z');
    expect(String(decodeScalar(ft, ValueType.FileTime, 0, 8))).toBe('2016-07-03T06:13:20.1234567Z');
    expect(readFileTimeDate(ft, 0).toISOString()).toBe('2016-07-03T06:13:20.123Z');
    expect(FileTime.fromTicks(116444736000000000n).toDate().getTime()).toBe(0);
    expect(FileTime.fromTicks(131120000000000000n + 1234567n).ticks).toBe(131120000000000000n + 1234567n);
    expect(fileTimeToIso(0n)).toBe('1601-01-01T00:00:00.0000000Z');
    const st = Buffer.alloc(16);
    [2021, 3, 3, 31, 23, 51, 45, 18].forEach((v, i) => st.writeUInt16LE(v, i * 2));
    expect(decodeScalar(st, ValueType.SystemTime, 0, 16)).toBe('2021-03-31T23:51:45.018Z');
    // HexInt32/HexInt64 zero-padded to 8/16 digits as evtxexport and python-evtx print them.
    expect(decodeScalar(buf('98310000'), ValueType.HexInt32, 0, 4)).toBe('0x00003198');
    expect(decodeScalar(buf('ff1f1f00'), ValueType.HexInt32, 0, 4)).toBe('0x001f1fff');
    expect(decodeScalar(buf('0000000000000280'), ValueType.HexInt64, 0, 8)).toBe('0x8002000000000000');
    expect(decodeScalar(buf('0000000000000000'), ValueType.HexInt64, 0, 8)).toBe('0x0000000000000000');
    expect(decodeScalar(buf('e703000000000000'), ValueType.HexInt64, 0, 8)).toBe('0x00000000000003e7');
    expect(decodeScalar(buf('4c020000'), ValueType.SizeT, 0, 4)).toBe('0x24c');
    expect(decodeScalar(buf('02000000'), ValueType.Bool, 0, 4)).toBe(true); // irregular bools
    expect(decodeScalar(buf('feffffff'), ValueType.Int32, 0, 4)).toBe(-2);
    expect(decodeScalar(buf('ffffffffffffffff'), ValueType.UInt64, 0, 8)).toBe(18446744073709551615n);
    expect(decodeScalar(buf('0000c03f'), ValueType.Real32, 0, 4)).toBe(1.5);
    expect(decodeScalar(buf('cdcccc3d'), ValueType.Real32, 0, 4)).toBe(0.1);
    expect(decodeScalar(buf('9a9999999999b93f'), ValueType.Real64, 0, 8)).toBe(0.1);
    expect(decodeScalar(buf('d9060000'), ValueType.Binary, 0, 4)).toBe('D9060000');
    expect(decodeScalar(buf('41420000'), ValueType.AnsiString, 0, 4)).toBe('AB');
    expect(decodeScalar(buf('41004200000000'), ValueType.String, 0, 6)).toBe('AB');
    expect(decodeScalar(buf('0100'), ValueType.Int64, 0, 2)).toBeUndefined(); // too short: no throw
  });

  it('splits arrays of strings and fixed-size values', () => {
    const strings = Buffer.from('a\0bc\0\0', 'utf16le');
    expect(decodeArray(strings, ValueType.String | ValueType.ArrayFlag, 0, strings.length)).toEqual(['a', 'bc', '']);
    const u16 = buf('010002000300');
    expect(decodeArray(u16, ValueType.UInt16 | ValueType.ArrayFlag, 0, 6)).toEqual([1, 2, 3]);
  });
});

describe('fast paths agree with the generic tree', () => {
  it('System fields and EventData read from template values equal those of the resolved element tree', async () => {
    const { extractData, rootEvent, systemFromTree, EvtxRecordImpl } = await import('../../src/logs/evtx/record.js');
    for (const name of ['NickSmet-System.evtx', 'omerbenamram-CAPI2-Operational.evtx', 'omerbenamram-2-vss_7-System.evtx', 'omerbenamram-sample_with_a_bad_chunk_magic.evtx']) {
      const { records } = await readAll(fixture(name));
      for (const r of records) {
        const impl = r as InstanceType<typeof EvtxRecordImpl>;
        const tree = extractData(rootEvent(impl.resolved()));
        expect(r.data, `${name} record ${r.recordId}`).toEqual(tree);
        expect(r.system, `${name} record ${r.recordId}`).toEqual(systemFromTree(rootEvent(impl.resolved())));
        expect(r.xml()).toContain('<EventID');
      }
    }
  });
});

describe('JSON lines rendered straight from the chunk bytes', () => {
  it('equal the JSON of the data object, for every record of every shipped fixture', async () => {
    const { jsonObject } = await import('../../src/logs/evtx/json.js');
    const { EvtxRecordImpl } = await import('../../src/logs/evtx/record.js');
    let compared = 0;
    for (const name of readdirSync(join(repoRoot, 'fixtures', 'evtx')).filter((n) => n.endsWith('.evtx'))) {
      const { records } = await readAll(fixture(name));
      for (const r of records) {
        const impl = r as InstanceType<typeof EvtxRecordImpl>;
        const direct = impl.dataJson(); // before .data is touched: the direct path
        expect(direct, `${name} record ${r.recordId}`).toBe(jsonObject(r.data));
        expect(JSON.parse(direct)).toEqual(JSON.parse(JSON.stringify(r.data, (_k, v) => (typeof v === 'bigint' ? String(v) : v))));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('writtenTime renders the same from the header milliseconds as from the Date', async () => {
    const { records } = await readAll(fixture('NickSmet-System.evtx'));
    for (const r of records.slice(0, 50)) {
      expect(JSON.parse(renderJsonLine(r)).writtenTime).toBe(r.writtenTime.toISOString());
    }
  });
});

describe('crafted input', () => {
  /** A file with one chunk holding one record whose BinXml is `binxml` (CRC checks off via flag 0x4). */
  function craftedFile(binxml: number[]): Buffer {
    const header = Buffer.alloc(4096);
    header.write('ElfFile\0', 0, 'latin1');
    header.writeUInt32LE(128, 32);
    header.writeUInt16LE(1, 36);
    header.writeUInt16LE(3, 38);
    header.writeUInt16LE(4096, 40);
    header.writeUInt16LE(1, 42);
    header.writeUInt32LE(4, 120);
    const chunk = Buffer.alloc(65536);
    chunk.write('ElfChnk\0', 0, 'latin1');
    for (const at of [8, 16, 24, 32]) chunk.writeBigUInt64LE(1n, at);
    chunk.writeUInt32LE(128, 40);
    chunk.writeUInt32LE(512, 44);
    const size = 24 + binxml.length + 4;
    chunk.writeUInt32LE(512 + size, 48);
    chunk.writeUInt32LE(4, 120);
    chunk.writeUInt32LE(0x2a2a, 512);
    chunk.writeUInt32LE(size, 516);
    chunk.writeBigUInt64LE(1n, 520);
    chunk.writeBigUInt64LE(131120000000000000n, 528);
    Buffer.from(binxml).copy(chunk, 536);
    chunk.writeUInt32LE(size, 512 + size - 4);
    return Buffer.concat([header, chunk]);
  }
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

  it('reports a template that instantiates itself instead of recursing', async () => {
    // fragment header, template instance with its definition inline at chunk offset 550, whose own
    // content is an instance of the template at 550 again.
    const defData = [0x0f, 1, 1, 0, 0x0c, 1, ...u32(7), ...u32(550), 0x00];
    const binxml = [0x0f, 1, 1, 0, 0x0c, 1, ...u32(7), ...u32(550), ...u32(0), ...new Array(16).fill(0), ...u32(defData.length), ...defData, ...u32(0), 0x00];
    const { records, warnings } = await readAll([craftedFile(binxml)]);
    expect(records).toEqual([]);
    expect(warnings).toEqual([expect.objectContaining({ kind: 'record', chunk: 0, reason: expect.stringContaining('refers to itself') })]);
  });

  it('rejects a template instance claiming more values than the record holds', async () => {
    const defData = [0x0f, 1, 1, 0, 0x01, 0xff, 0xff, ...u32(0), ...u32(0), 0x03, 0x00];
    const binxml = [0x0f, 1, 1, 0, 0x0c, 1, ...u32(7), ...u32(550), ...u32(0), ...new Array(16).fill(0), ...u32(defData.length), ...defData, ...u32(0xffffffff), 0x00];
    const { records, warnings } = await readAll([craftedFile(binxml)]);
    expect(records).toEqual([]);
    expect(warnings[0].reason).toContain('claims 4294967295 values');
  });
});

describe('fidelity details', () => {
  it('a string array of size 0 still renders one empty element, as Windows and both peers do', () => {
    // Template <Files><File>%0</File></Files> with value 0 a string array (0x81) of 0 bytes.
    const buf = Buffer.alloc(1024);
    buf.writeUInt16LE(0, 600); // value size
    buf[602] = ValueType.String | ValueType.ArrayFlag;
    const ctx = new ChunkContext(buf, buf.length);
    const file: Node = { k: NodeKind.Element, name: 'File', attrs: [], children: [{ k: NodeKind.Subst, index: 0, type: 0x81, optional: false }] };
    const files: Node = { k: NodeKind.Element, name: 'Files', attrs: [], children: [file] };
    const inst = new TemplateInstance({ offset: 512, nodes: [files] }, ctx, 600, [604], 0);
    expect(renderXml(resolveNodes([files], inst, ctx, 0))).toBe('<Files>\n  <File/>\n</Files>\n');
    // Two items render two elements.
    const two = Buffer.from('a\0b\0', 'utf16le');
    two.copy(buf, 604);
    buf.writeUInt16LE(two.length, 600);
    expect(renderXml(resolveNodes([files], inst, ctx, 0))).toBe('<Files>\n  <File>a</File>\n  <File>b</File>\n</Files>\n');
  });

  it('ExtraInfo is "\\n" because its value bytes are one LF (0a 00); evtxexport trims it to ""', async () => {
    const { records } = await readAll(fixture('omerbenamram-Application_no_crc32.evtx'));
    const r = records.find((x) => 'ExtraInfo' in x.data)!;
    expect(r.data.ExtraInfo).toBe('\n');
    expect(r.xml()).toContain('<Data Name="ExtraInfo">\n</Data>');
    expect(JSON.parse(renderJsonLine(r)).data.ExtraInfo).toBe('\n');
    // The bytes: find the nested EventData instance and its ExtraInfo substitution.
    const outer = (r as unknown as { nodes: { inst: TemplateInstance }[] }).nodes[0].inst;
    let raw: string | undefined;
    for (let i = 0; i < outer.count; i++) {
      if (outer.type(i) !== ValueType.BinXml) continue;
      const inner = (outer.nestedNodes(i)[0] as { inst: TemplateInstance }).inst;
      const def = JSON.stringify(inner.def.nodes);
      const index = Number(def.match(/"s":"ExtraInfo"\}\]\}\],"children":\[\{"k":3,"index":(\d+)/)?.[1]);
      raw = inner.chunk.buf.subarray(inner.start(index), inner.end(index)).toString('hex');
    }
    expect(raw).toBe('0a00');
  });

  it('XML output stays well-formed for control characters, unknown entities and hostile names', () => {
    const nodes = [{ t: 'e' as const, name: 'Da ta<', attrs: [['a', 'x\u0001'] as [string, string], ['a', 'dup'] as [string, string]], children: [{ t: 'v' as const, v: 'v\u0003&' }] }];
    expect(renderXml(nodes)).toBe('<Da_ta_ a="x\ufffd">v\ufffd&amp;</Da_ta_>\n');
  });
});

describe('utf16Cached', () => {
  it('gives what utf16 decoding gives, for repeated, colliding and trailing-NUL texts', async () => {
    const { utf16Cached, utf16 } = await import('../../src/logs/evtx/values.js');
    const texts = ['Service Control Manager', 'Service Control Managex', 'EventLog', 'EventLog\u0000\u0000', 'é日😀', '', 'x'.repeat(200)];
    for (let round = 0; round < 3; round++) {
      for (const t of texts) {
        const buf = Buffer.concat([Buffer.from([1]), Buffer.from(t, 'utf16le'), Buffer.from([0])]);
        const end = buf.length - 1;
        expect(utf16Cached(buf, 1, end)).toBe(utf16(buf, 1, end));
        // An odd length drops the last byte, as utf16 does.
        expect(utf16Cached(buf, 1, end + 1)).toBe(utf16(buf, 1, end + 1));
      }
    }
  });
});
