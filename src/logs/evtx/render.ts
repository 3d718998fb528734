// The text of one record as `evtx dump` prints it (JSON lines or XML), shared by the record reader's
// callers and the chunk workers (chunk-work.ts), so both paths give the same bytes.

import type { EvtxRecord } from './index.js';
import { EvtxRecordImpl } from './record.js';
import { jsonObject, jsonString } from './json.js';
import { fastIsoMs, levelName, writeFileTimeIso, writeIsoMs } from './values.js';
import type { ByteOut } from './byte-out.js';

export { LEVEL_NAMES, levelName } from './values.js';

/**
 * One JSON object per line: recordId (System/EventRecordID), headerRecordId (the record header's
 * number), times (ISO; timeCreated with Windows' 7 fraction digits), System fields and data.
 */
export function renderJsonLine(r: EvtxRecord): string {
  const s = r.system;
  let out = `{"recordId":${idJson(r.recordId)}`;
  if (r.headerRecordId !== undefined) out += `,"headerRecordId":${idJson(r.headerRecordId)}`;
  const impl = r instanceof EvtxRecordImpl ? r : undefined;
  const created = impl?.timeCreatedText();
  const written = impl ? isoOfMs(impl.writtenMs) : isoOrNull(r.writtenTime);
  out += `,"timeCreated":${created !== undefined ? `"${created}"` : isoOrNull(s.timeCreated)},"writtenTime":${written}`;
  out += `,"provider":${jsonString(s.provider)}`;
  if (s.providerGuid !== undefined) out += `,"providerGuid":${jsonString(s.providerGuid)}`;
  out += `,"eventId":${s.eventId},"level":${s.level},"levelName":"${levelName(s.level)}"`;
  if (s.task !== undefined) out += `,"task":${s.task}`;
  if (s.opcode !== undefined) out += `,"opcode":${s.opcode}`;
  if (s.keywords !== undefined) out += `,"keywords":${jsonString(s.keywords)}`;
  out += `,"computer":${jsonString(s.computer)},"channel":${jsonString(s.channel)}`;
  if (s.userSid !== undefined) out += `,"userSid":${jsonString(s.userSid)}`;
  if (s.processId !== undefined) out += `,"processId":${s.processId}`;
  if (s.threadId !== undefined) out += `,"threadId":${s.threadId}`;
  // Records of this reader render their data straight from the chunk bytes, without the object.
  if (r.recovered) out += ',"recovered":true';
  return `${out},"data":${r instanceof EvtxRecordImpl ? r.dataJson() : jsonObject(r.data)}}`;
}

/**
 * renderJsonLine(r) and a newline, written as UTF-8 bytes: the same bytes, with no string per value
 * for this reader's records (others are rendered as text and encoded).
 */
export function writeJsonLine(w: ByteOut, r: EvtxRecord): void {
  if (!(r instanceof EvtxRecordImpl)) {
    w.add(`${renderJsonLine(r)}\n`);
    return;
  }
  if (!r.writeJsonHead(w)) writeHeadFromSystem(w, r);
  if (r.recovered) w.ascii(',"recovered":true');
  w.ascii(',"data":');
  r.writeDataJson(w);
  w.ascii('}\n');
}

/** writeJsonHead from the System object (records decoded from the element tree, or already asked). */
function writeHeadFromSystem(w: ByteOut, r: EvtxRecordImpl): void {
  const s = r.system;
  w.ascii('{"recordId":');
  writeId(w, r.recordId);
  w.ascii(',"headerRecordId":');
  writeId(w, r.headerRecordId);
  w.ascii(',"timeCreated":');
  const at = r.timeCreatedAt();
  if (at >= 0) {
    const buf = r.chunkBuf;
    w.byte(0x22);
    writeFileTimeIso(w, buf.readUInt32LE(at + 4), buf.readUInt32LE(at));
    w.byte(0x22);
  } else {
    const created = r.timeCreatedText();
    w.ascii(created !== undefined ? `"${created}"` : isoOrNull(s.timeCreated));
  }
  w.ascii(',"writtenTime":');
  const ms = r.writtenMs;
  if (Math.abs(ms) <= 8.64e15) {
    w.byte(0x22);
    writeIsoMs(w, ms);
    w.byte(0x22);
  } else w.ascii('null');
  w.ascii(',"provider":');
  w.jsonString(s.provider);
  if (s.providerGuid !== undefined) {
    w.ascii(',"providerGuid":');
    w.jsonString(s.providerGuid);
  }
  w.ascii(',"eventId":');
  w.num(s.eventId);
  w.ascii(',"level":');
  w.num(s.level);
  w.ascii(',"levelName":"');
  w.ascii(levelName(s.level));
  w.byte(0x22);
  if (s.task !== undefined) {
    w.ascii(',"task":');
    w.num(s.task);
  }
  if (s.opcode !== undefined) {
    w.ascii(',"opcode":');
    w.num(s.opcode);
  }
  if (s.keywords !== undefined) {
    w.ascii(',"keywords":');
    w.jsonString(s.keywords);
  }
  w.ascii(',"computer":');
  w.jsonString(s.computer);
  w.ascii(',"channel":');
  w.jsonString(s.channel);
  if (s.userSid !== undefined) {
    w.ascii(',"userSid":');
    w.jsonString(s.userSid);
  }
  if (s.processId !== undefined) {
    w.ascii(',"processId":');
    w.num(s.processId);
  }
  if (s.threadId !== undefined) {
    w.ascii(',"threadId":');
    w.num(s.threadId);
  }
}

function writeId(w: ByteOut, id: bigint | number): void {
  if (typeof id === 'bigint') w.ascii(`"${id}"`);
  else w.num(id);
}

function idJson(id: bigint | number): string {
  return typeof id === 'bigint' ? `"${id}"` : String(id);
}

function isoOrNull(d: Date | undefined): string {
  return d ? isoOfMs(d.getTime()) : 'null';
}

function isoOfMs(ms: number): string {
  // The same range as a Date: a FILETIME beyond it renders as null, as an Invalid Date would.
  return Math.abs(ms) <= 8.64e15 ? `"${fastIsoMs(ms)}"` : 'null';
}


/** A record of `evtx dump --format xml`: its XML, after a comment when it was carved from slack. */
export function renderXmlRecord(r: EvtxRecord): string {
  return `${r.recovered ? `<!-- recovered from chunk slack; record header number ${r.headerRecordId} -->\n` : ''}${r.xml()}\n`;
}
