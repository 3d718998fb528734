// One event record: System fields are read straight from the template's substitution values (no
// tree building on the hot path); data and xml() are resolved lazily from the same chunk bytes.

import { type ChunkContext, type Node, type SubstNode, type TemplateDef, type TemplateInstance, NodeKind } from './binxml.js';
import { type XElement, type XNode, attrValue, childElement, elementValue, renderRecordXml, resolveRecord } from './resolve.js';
import { jsonKey, jsonObject, jsonString, jsonValue } from './json.js';
import { type Scalar, FileTime, ValueType, decodeScalar, fastIsoMs, fileTimeIso, levelName, writeGuid, readFileTimeDate, readFileTimeMs, scalarText, u32le, utf16Cached, writeFileTimeIso, writeIsoMs, writeSid, writeValueJson } from './values.js';
import { ByteOut } from './byte-out.js';

export interface EvtxSystem {
  provider: string;
  providerGuid?: string;
  eventId: number;
  level: number;
  task?: number;
  opcode?: number;
  keywords?: string;
  timeCreated: Date | undefined;
  /** System/EventRecordID: the number Windows, SAP notes and Event Viewer show. */
  eventRecordId?: number | bigint;
  computer: string;
  channel: string;
  userSid?: string;
  processId?: number;
  threadId?: number;
}

const enum Field {
  Provider,
  ProviderGuid,
  EventId,
  Level,
  Task,
  Opcode,
  Keywords,
  TimeCreated,
  EventRecordId,
  Computer,
  Channel,
  UserSid,
  ProcessId,
  ThreadId,
}

/** Where a System field comes from in a template: a constant text or a substitution index. */
type Source = { field: Field; text: string; index: -1 } | { field: Field; text: ''; index: number };

function sourceOf(field: Field, nodes: Node[] | undefined): Source | null | undefined {
  if (nodes === undefined) return undefined; // field absent from the template
  if (nodes.length === 0) return { field, text: '', index: -1 };
  if (nodes.length === 1) {
    const n = nodes[0];
    if (n.k === NodeKind.Text) return { field, text: n.s, index: -1 };
    if (n.k === NodeKind.Subst) return { field, text: '', index: n.index };
  }
  return null; // mixed content: use the generic path
}

function findElement(nodes: Node[], name: string): (Node & { k: NodeKind.Element }) | undefined {
  for (const n of nodes) if (n.k === NodeKind.Element && n.name === name) return n;
  return undefined;
}

function attrNodes(el: (Node & { k: NodeKind.Element }) | undefined, name: string): Node[] | undefined {
  if (!el) return undefined;
  for (const a of el.attrs) if (a.name === name) return a.value;
  return undefined;
}

/** Builds (once per template definition) the list of System field sources, or null if unusual. */
function systemPlan(def: TemplateDef): Source[] | null {
  if (def.plan !== undefined) return def.plan as Source[] | null;
  let plan: Source[] | null = null;
  const event = findElement(def.nodes, 'Event');
  const sys = event && findElement(event.children, 'System');
  if (sys) {
    const el = (name: string) => findElement(sys.children, name);
    const provider = el('Provider');
    const execution = el('Execution');
    const wanted: [Field, Node[] | undefined][] = [
      [Field.Provider, attrNodes(provider, 'Name')],
      [Field.ProviderGuid, attrNodes(provider, 'Guid')],
      [Field.EventId, el('EventID')?.children],
      [Field.Level, el('Level')?.children],
      [Field.Task, el('Task')?.children],
      [Field.Opcode, el('Opcode')?.children],
      [Field.Keywords, el('Keywords')?.children],
      [Field.TimeCreated, attrNodes(el('TimeCreated'), 'SystemTime')],
      [Field.EventRecordId, el('EventRecordID')?.children],
      [Field.Computer, el('Computer')?.children],
      [Field.Channel, el('Channel')?.children],
      [Field.UserSid, attrNodes(el('Security'), 'UserID')],
      [Field.ProcessId, attrNodes(execution, 'ProcessID')],
      [Field.ThreadId, attrNodes(execution, 'ThreadID')],
    ];
    plan = [];
    for (const [field, nodes] of wanted) {
      const src = sourceOf(field, nodes);
      if (src === null) {
        plan = null;
        break;
      }
      if (src) plan.push(src);
    }
  }
  def.plan = plan;
  return plan;
}

function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v !== '') {
    const n = v.startsWith('0x') ? parseInt(v, 16) : Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function toRecordId(v: unknown): number | bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'bigint') return v >= 0n ? v : undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  return undefined;
}

function toDate(v: unknown): Date | undefined {
  if (v instanceof FileTime) return v.toDate();
  if (typeof v === 'string' && v !== '') {
    const d = new Date(v.includes('T') || v.endsWith('Z') ? v : v.replace(' ', 'T') + 'Z');
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

function emptySystem(): EvtxSystem {
  // Every field present from the start: one object shape for all records keeps property access fast.
  return {
    provider: '',
    providerGuid: undefined,
    eventId: 0,
    level: 0,
    task: undefined,
    opcode: undefined,
    keywords: undefined,
    timeCreated: undefined,
    eventRecordId: undefined,
    computer: '',
    channel: '',
    userSid: undefined,
    processId: undefined,
    threadId: undefined,
  };
}

function setField(sys: EvtxSystem, field: Field, v: unknown): void {
  switch (field) {
    case Field.Provider:
      sys.provider = scalarText(v as Scalar);
      break;
    case Field.ProviderGuid:
      if (v !== null && v !== '') sys.providerGuid = scalarText(v as Scalar);
      break;
    case Field.EventId:
      sys.eventId = toInt(v) ?? 0;
      break;
    case Field.Level:
      sys.level = toInt(v) ?? 0;
      break;
    case Field.Task:
      sys.task = toInt(v);
      break;
    case Field.Opcode:
      sys.opcode = toInt(v);
      break;
    case Field.Keywords:
      if (v !== null && v !== '') sys.keywords = scalarText(v as Scalar);
      break;
    case Field.TimeCreated:
      sys.timeCreated = v instanceof Date ? v : toDate(v);
      break;
    case Field.EventRecordId:
      sys.eventRecordId = toRecordId(v);
      break;
    case Field.Computer:
      sys.computer = scalarText(v as Scalar);
      break;
    case Field.Channel:
      sys.channel = scalarText(v as Scalar);
      break;
    case Field.UserSid:
      if (v !== null && v !== '') sys.userSid = scalarText(v as Scalar);
      break;
    case Field.ProcessId:
      sys.processId = toInt(v);
      break;
    case Field.ThreadId:
      sys.threadId = toInt(v);
      break;
  }
}

/** Whether systemFromPlan can read every field (no field is a nested BinXml or array value). */
function planApplies(inst: TemplateInstance, plan: Source[]): boolean {
  for (const src of plan) {
    if (src.index < 0 || src.index >= inst.count) continue;
    const type = inst.type(src.index);
    if (type === ValueType.BinXml || type & ValueType.ArrayFlag) return false;
  }
  return true;
}

/** Fields `evtx stats` needs (StatsFields). */
const STATS_FIELDS = new Set([Field.Provider, Field.Level, Field.TimeCreated]);

/**
 * Fast path: a record that is a single template instance whose template holds Event/System. With
 * `only`, just those fields are decoded (the others keep their empty values).
 */
function systemFromPlan(inst: TemplateInstance, plan: Source[], only?: Set<Field>): EvtxSystem | null {
  const sys = emptySystem();
  const buf = inst.chunk.buf;
  const count = inst.count;
  for (const src of plan) {
    if (only && !only.has(src.field)) continue;
    if (src.index < 0) {
      setField(sys, src.field, src.text);
      continue;
    }
    if (src.index >= count) continue;
    const type = inst.type(src.index);
    if (type === ValueType.BinXml || type & ValueType.ArrayFlag) return null;
    const start = inst.start(src.index);
    const end = inst.end(src.index);
    if (src.field === Field.TimeCreated && type === ValueType.FileTime && end - start >= 8) {
      sys.timeCreated = readFileTimeDate(buf, start);
      continue;
    }
    setField(sys, src.field, decodeScalar(buf, type, start, end) ?? null);
  }
  return sys;
}

/** The System plan's source of each field, indexed by Field (worked out once per template). */
function sourcesByField(def: TemplateDef, plan: Source[]): (Source | undefined)[] {
  if (def.planByField !== undefined) return def.planByField as (Source | undefined)[];
  const by: (Source | undefined)[] = [];
  for (let f = Field.Provider; f <= Field.ThreadId; f++) by.push(undefined);
  for (const src of plan) by[src.field] = src;
  def.planByField = by;
  return by;
}

/** A field whose substitution index is beyond the instance's values: it keeps its empty value. */
const SKIP = Symbol('skip');

/** What setField gets for a field on the plan path (SKIP: nothing). */
function planValue(inst: TemplateInstance, src: Source): unknown {
  if (src.index < 0) return src.text;
  if (src.index >= inst.count) return SKIP;
  return decodeScalar(inst.chunk.buf, inst.type(src.index), inst.start(src.index), inst.end(src.index)) ?? null;
}

/** [start, end) of a String value without its trailing NULs (as utf16() reads it). */
function utf16End(buf: Buffer, start: number, end: number): number {
  if ((end - start) & 1) end--;
  while (end > start && buf[end - 1] === 0 && buf[end - 2] === 0) end -= 2;
  return end;
}

/** `key` and the JSON text of provider / computer / channel (always present, '' when absent). */
function writeTextField(w: ByteOut, inst: TemplateInstance, src: Source | undefined, key: string): void {
  w.ascii(key);
  if (src === undefined) {
    w.ascii('""');
    return;
  }
  const i = src.index;
  if (i >= 0 && i < inst.count && inst.type(i) === ValueType.String) {
    const buf = inst.chunk.buf;
    const start = inst.start(i);
    w.jsonUtf16(buf, start, utf16End(buf, start, inst.end(i)));
    return;
  }
  const v = planValue(inst, src);
  w.jsonString(v === SKIP ? '' : scalarText(v as Scalar));
}

/** providerGuid / keywords / userSid: `key` and the value, left out when null or ''. */
function writeOptionalText(w: ByteOut, inst: TemplateInstance, src: Source | undefined, key: string): void {
  if (src === undefined) return;
  const i = src.index;
  if (i >= 0 && i < inst.count) {
    const buf = inst.chunk.buf;
    const type = inst.type(i);
    const start = inst.start(i);
    const end = inst.end(i);
    if (type === ValueType.Guid && end - start >= 16) {
      w.ascii(key);
      w.byte(0x22);
      writeGuid(w, buf, start);
      w.byte(0x22);
      return;
    }
    if (type === ValueType.HexInt64 && end - start >= 8) {
      w.ascii(key);
      writeValueJson(w, buf, type, start, end);
      return;
    }
    if (type === ValueType.Sid && end - start >= 8) {
      w.ascii(key);
      w.byte(0x22);
      writeSid(w, buf, start, end);
      w.byte(0x22);
      return;
    }
    if (type === ValueType.String) {
      const to = utf16End(buf, start, end);
      if (to === start) return;
      w.ascii(key);
      w.jsonUtf16(buf, start, to);
      return;
    }
  }
  const v = planValue(inst, src);
  if (v === SKIP || v === null || v === '') return;
  w.ascii(key);
  w.jsonString(scalarText(v as Scalar));
}

/** toInt of a field's value on the plan path (undefined: none). */
function planInt(inst: TemplateInstance, src: Source | undefined): number | undefined {
  if (src === undefined) return undefined;
  const i = src.index;
  if (i >= 0 && i < inst.count) {
    const buf = inst.chunk.buf;
    const start = inst.start(i);
    const size = inst.end(i) - start;
    switch (inst.type(i)) {
      case ValueType.UInt8:
        if (size >= 1) return buf[start];
        break;
      case ValueType.UInt16:
        if (size >= 2) return buf[start] | (buf[start + 1] << 8);
        break;
      case ValueType.UInt32:
        if (size >= 4) return u32le(buf, start);
        break;
    }
  }
  const v = planValue(inst, src);
  return v === SKIP ? undefined : toInt(v);
}

/** Optional numeric field (task, opcode, processId, threadId): `key` and the number, or nothing. */
function writeOptionalInt(w: ByteOut, inst: TemplateInstance, src: Source | undefined, key: string): void {
  const v = planInt(inst, src);
  if (v === undefined) return;
  w.ascii(key);
  w.num(v);
}

/** What `evtx stats` counts of a record: System/Level, Provider Name and TimeCreated in ms (NaN: none). */
export interface StatsOf {
  level: number;
  provider: string;
  timeMs: number;
}

/**
 * statsFields' level, provider and TimeCreated, read from the plan into `out` (no System object,
 * no Date per record). The record's plan applies (planApplies), as for systemFromPlan.
 */
function statsFromPlan(inst: TemplateInstance, plan: Source[], out: StatsOf): void {
  out.level = 0;
  out.provider = '';
  out.timeMs = NaN;
  const buf = inst.chunk.buf;
  const count = inst.count;
  for (const src of plan) {
    const field = src.field;
    if (field !== Field.Provider && field !== Field.Level && field !== Field.TimeCreated) continue;
    let v: unknown = src.text;
    if (src.index >= 0) {
      if (src.index >= count) continue;
      const type = inst.type(src.index);
      const start = inst.start(src.index);
      const end = inst.end(src.index);
      if (field === Field.TimeCreated && type === ValueType.FileTime && end - start >= 8) {
        const ms = readFileTimeMs(buf, start);
        out.timeMs = Math.abs(ms) <= 8.64e15 ? ms : NaN; // as new Date(ms).getTime()
        continue;
      }
      if (field === Field.Provider && type === ValueType.String) {
        out.provider = utf16Cached(buf, start, end);
        continue;
      }
      v = decodeScalar(buf, type, start, end) ?? null;
    }
    if (field === Field.Provider) out.provider = scalarText(v as Scalar);
    else if (field === Field.Level) out.level = toInt(v) ?? 0;
    else {
      const t = toDate(v)?.getTime();
      out.timeMs = t === undefined ? NaN : t;
    }
  }
}

export function rootEvent(nodes: XNode[]): XElement | undefined {
  for (const n of nodes) if (n.t === 'e' && n.name === 'Event') return n;
  for (const n of nodes) if (n.t === 'e') return n;
  return undefined;
}

export function systemFromTree(event: XElement | undefined): EvtxSystem {
  const sys = emptySystem();
  const s = event && childElement(event, 'System');
  if (!s) return sys;
  const text = (name: string) => {
    const e = childElement(s, name);
    return e ? elementValue(e) : undefined;
  };
  const provider = childElement(s, 'Provider');
  const execution = childElement(s, 'Execution');
  setField(sys, Field.Provider, attrValue(provider, 'Name') ?? '');
  setField(sys, Field.ProviderGuid, attrValue(provider, 'Guid') ?? null);
  setField(sys, Field.EventId, text('EventID'));
  setField(sys, Field.Level, text('Level'));
  if (childElement(s, 'Task')) setField(sys, Field.Task, text('Task'));
  if (childElement(s, 'Opcode')) setField(sys, Field.Opcode, text('Opcode'));
  setField(sys, Field.Keywords, text('Keywords') ?? null);
  setField(sys, Field.TimeCreated, attrValue(childElement(s, 'TimeCreated'), 'SystemTime'));
  setField(sys, Field.EventRecordId, text('EventRecordID'));
  setField(sys, Field.Computer, text('Computer') ?? '');
  setField(sys, Field.Channel, text('Channel') ?? '');
  setField(sys, Field.UserSid, attrValue(childElement(s, 'Security'), 'UserID') ?? null);
  if (execution) {
    setField(sys, Field.ProcessId, attrValue(execution, 'ProcessID'));
    setField(sys, Field.ThreadId, attrValue(execution, 'ThreadID'));
  }
  return sys;
}

function dataValue(v: unknown): unknown {
  return v instanceof FileTime ? v.toString() : v;
}

/** EventData Data Name=value (unnamed ones as Data[i]) plus leaf values under UserData. */
export function extractData(event: XElement | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (!event) return data;
  const put = (key: string, v: unknown) => {
    if (!(key in data)) data[key] = v;
    else {
      // Repeated names (array substitutions): keep every value.
      const cur = data[key];
      if (Array.isArray(cur)) cur.push(v);
      else data[key] = [cur, v];
    }
  };
  const eventData = childElement(event, 'EventData');
  if (eventData) {
    let unnamed = 0;
    for (const c of eventData.children) {
      if (c.t !== 'e') continue;
      const name = attrValue(c, 'Name');
      const v = dataValue(elementValue(c));
      if (name !== undefined) put(name, v);
      else if (c.name === 'Data') put(`Data[${unnamed++}]`, v);
      else put(c.name, v);
    }
  }
  const userData = childElement(event, 'UserData');
  if (userData) {
    const walk = (e: XElement) => {
      const kids = e.children.filter((c): c is XElement => c.t === 'e');
      if (kids.length === 0) {
        if (e === userData) return;
        // Leaves carry their value as text, as attributes (CAPI2 EventAuxInfo ProcessName=...), or both.
        if (e.children.length > 0 || e.attrs.length === 0) put(e.name, dataValue(elementValue(e)));
        for (const [k, v] of e.attrs) put(k, v);
        return;
      }
      for (const k of kids) walk(k);
    };
    walk(userData);
  }
  return data;
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/** EventData entries of a template: Data name (or Data[i]) and a constant text or substitution index. */
interface DataPlanEntry {
  key: string;
  /** `"key":` for direct JSON rendering. */
  jsonKey: string;
  /** jsonKey's bytes. */
  keyBytes: Uint8Array;
  text: string;
  index: number;
  /** Optional substitution: a NULL value drops the entry, as it drops the element from the XML. */
  optional: boolean;
  /** A Data element without Name: keyed Data[i] by its place among those present (key: its place in the template). */
  unnamed: boolean;
}

/**
 * How to read EventData of a template without building a tree: either its entries, or the index of
 * the substitution that carries EventData as a nested BinXml value (the common Security/System
 * layout: Event = System + %n). null when the generic tree is needed (UserData, mixed content).
 */
type DataPlan = EntriesPlan | { entries: null; nested: number } | null;
type EntriesPlan = {
  entries: DataPlanEntry[];
  nested: -1;
  /** An object lists array-index keys ("0", "1") first. */
  indexKeys: boolean;
  /** A name is used twice: its values are collected into an array (only writeDataGrouped does this). */
  repeated: boolean;
  /** A name Object.prototype has ("constructor"): the generic path's `in` test sees it as repeated. */
  protoKeys: boolean;
};

function eventDataEntries(eventData: (Node & { k: NodeKind.Element }) | undefined): { entries: DataPlanEntry[]; repeated: boolean } | null {
  const entries: DataPlanEntry[] = [];
  const keys = new Set<string>();
  let unnamed = 0;
  let repeated = false;
  for (const c of eventData?.children ?? []) {
    if (c.k !== NodeKind.Element) return null;
    const nameNodes = attrNodes(c, 'Name');
    let key: string;
    if (nameNodes === undefined) key = c.name === 'Data' ? `Data[${unnamed++}]` : c.name;
    else if (nameNodes.length === 1 && nameNodes[0].k === NodeKind.Text) key = nameNodes[0].s;
    else return null;
    // Repeated names (array-valued Data) are collected into arrays (the generic path, writeDataGrouped).
    if (keys.has(key)) repeated = true;
    keys.add(key);
    const src = sourceOf(Field.Provider, c.children);
    if (!src || c.children.some((n) => n.k === NodeKind.Element)) return null;
    const only = c.children.length === 1 ? c.children[0] : undefined;
    const k = jsonKey(key);
    entries.push({
      key,
      jsonKey: k,
      keyBytes: Buffer.from(k, 'utf8'),
      unnamed: nameNodes === undefined && c.name === 'Data',
      text: src.text,
      index: src.index,
      optional: only?.k === NodeKind.Subst && only.optional,
    });
  }
  return { entries, repeated };
}

function entriesPlan(found: { entries: DataPlanEntry[]; repeated: boolean } | null): EntriesPlan | null {
  if (!found) return null;
  const { entries, repeated } = found;
  return { entries, nested: -1, indexKeys: entries.some((e) => ARRAY_INDEX.test(e.key)), repeated, protoKeys: entries.some((e) => !e.unnamed && e.key in Object.prototype) };
}

function dataPlan(def: TemplateDef): DataPlan {
  if (def.dataPlan !== undefined) return def.dataPlan as DataPlan;
  let plan: DataPlan = null;
  const root = def.nodes.length === 1 && def.nodes[0].k === NodeKind.Element ? def.nodes[0] : undefined;
  if (root?.name === 'EventData') {
    plan = entriesPlan(eventDataEntries(root));
  } else if (root?.name === 'Event' && !findElement(root.children, 'UserData')) {
    const substs = root.children.filter((n) => n.k === NodeKind.Subst);
    const others = root.children.filter((n) => n.k !== NodeKind.Subst && n.k !== NodeKind.Element);
    const eventData = findElement(root.children, 'EventData');
    if (others.length === 0 && substs.length === 0) {
      plan = entriesPlan(eventDataEntries(eventData));
    } else if (others.length === 0 && substs.length === 1 && !eventData) {
      plan = { entries: null, nested: (substs[0] as SubstNode).index };
    }
  }
  def.dataPlan = plan;
  return plan;
}

/**
 * The instance whose template lists the EventData entries, following the common layout where
 * EventData is a nested BinXml value (Event = System + %n). 'none' when that value is NULL or
 * absent (no EventData); null when the generic tree is needed.
 */
function dataEntriesOf(inst: TemplateInstance, depth: number): { inst: TemplateInstance; plan: EntriesPlan } | 'none' | null {
  const plan = dataPlan(inst.def);
  if (!plan) return null;
  if (plan.entries !== null) return { inst, plan };
  if (plan.nested >= inst.count || inst.type(plan.nested) === ValueType.Null) return 'none';
  if (inst.type(plan.nested) !== ValueType.BinXml || depth > 8) return null;
  const nodes = inst.nestedNodes(plan.nested);
  if (nodes.length !== 1 || nodes[0].k !== NodeKind.Instance) return null;
  return dataEntriesOf(nodes[0].inst, depth + 1);
}

/** An optional substitution that is NULL: the entry is left out, as the element is from the XML. */
const OMITTED = Symbol('omitted');
/** A value the fast path cannot represent (arrays, nested BinXml): the generic tree is needed. */
const NEEDS_TREE = Symbol('needs tree');

/** The value of one EventData entry as `data` holds it. */
function entryValue(inst: TemplateInstance, e: DataPlanEntry): unknown {
  if (e.index < 0) return e.text;
  if (e.index >= inst.count) return '';
  const type = inst.type(e.index);
  if (type === ValueType.BinXml || type & ValueType.ArrayFlag) return NEEDS_TREE;
  if (type === ValueType.Null) return e.optional ? OMITTED : '';
  const v = decodeScalar(inst.chunk.buf, type, inst.start(e.index), inst.end(e.index));
  return v === undefined ? '' : dataValue(v);
}

/** Fast path for EventData; null when a value needs the generic tree (arrays, UserData, ...). */
function dataFromInstance(inst: TemplateInstance): Record<string, unknown> | null {
  const found = dataEntriesOf(inst, 0);
  if (found === null) return null;
  const data: Record<string, unknown> = {};
  if (found === 'none') return data;
  if (found.plan.repeated) return null;
  for (const e of found.plan.entries) {
    const v = entryValue(found.inst, e);
    if (v === NEEDS_TREE) return null;
    if (v !== OMITTED) data[e.key] = v;
  }
  return data;
}

/**
 * The JSON text of dataFromInstance's object, written straight from the substitution values (no
 * object, no per-key lookups); null where dataFromInstance would be null or key order would differ.
 */
function dataJsonFromInstance(inst: TemplateInstance): string | null {
  const found = dataEntriesOf(inst, 0);
  if (found === null) return null;
  if (found === 'none') return '{}';
  if (found.plan.indexKeys || found.plan.repeated) return null; // the object's key order differs from the template's
  let out = '{';
  for (const e of found.plan.entries) {
    const v = entryJson(found.inst, e);
    if (v === NEEDS_TREE) return null;
    if (v === OMITTED) continue;
    out += `${out.length === 1 ? '' : ','}${e.jsonKey}${v}`;
  }
  return `${out}}`;
}

/**
 * dataJsonFromInstance written as bytes: false (with whatever was written) where it would be null.
 * Values of the common types go from the chunk to the output bytes without a JS string.
 */
function writeDataJsonFromInstance(w: ByteOut, inst: TemplateInstance): boolean {
  const found = dataEntriesOf(inst, 0);
  if (found === null) return false;
  if (found === 'none') {
    w.ascii('{}');
    return true;
  }
  if (found.plan.indexKeys) return false;
  const at = found.inst;
  if (found.plan.repeated) return writeDataGrouped(w, at, found.plan);
  const buf = at.chunk.buf;
  const count = at.count;
  const mark = w.pos;
  let first = true;
  w.byte(0x7b);
  for (const e of found.plan.entries) {
    const i = e.index;
    if (i >= 0 && i < count) {
      const type = at.type(i);
      if (type === ValueType.BinXml) return false;
      if (type & ValueType.ArrayFlag) {
        w.pos = mark;
        return writeDataGrouped(w, at, found.plan);
      }
      if (type === ValueType.Null && e.optional) continue;
      if (!first) w.byte(0x2c);
      first = false;
      w.bytes(e.keyBytes, 0, e.keyBytes.length);
      if (type === ValueType.Null) w.ascii('""');
      else if (!writeValueJson(w, buf, type, at.start(i), at.end(i))) w.add(entryJson(at, e) as string);
      continue;
    }
    if (!first) w.byte(0x2c);
    first = false;
    w.bytes(e.keyBytes, 0, e.keyBytes.length);
    if (i < 0) w.jsonString(e.text);
    else w.ascii('""');
  }
  w.byte(0x7d);
  return true;
}

/** writeDataGrouped's values, written before their keys are grouped. */
let side: ByteOut | undefined;

/**
 * What the generic path (extractData) gives for EventData whose names repeat or whose values are
 * string arrays (classic events' Data of many items): unnamed Data numbered as they appear, an array
 * substitution one value per item, a repeated name's values collected into a JSON array. false
 * (nothing written) for what it does not cover: nested BinXml, other arrays, float values.
 */
function writeDataGrouped(w: ByteOut, inst: TemplateInstance, plan: EntriesPlan): boolean {
  if (plan.protoKeys) return false;
  const v = (side ??= new ByteOut(Buffer.allocUnsafeSlow(4096)));
  v.pos = 0;
  const keys: string[] = [];
  /** Per key, start and end of each of its values in v. */
  const ranges: number[][] = [];
  const byKey = new Map<string, number>();
  let unnamed = 0;
  const put = (e: DataPlanEntry, from: number) => {
    const k = e.unnamed ? jsonKey(`Data[${unnamed++}]`) : e.jsonKey;
    let at = byKey.get(k);
    if (at === undefined) {
      byKey.set(k, (at = keys.length));
      keys.push(k);
      ranges.push([]);
    }
    ranges[at].push(from, v.pos);
  };
  const buf = inst.chunk.buf;
  const count = inst.count;
  for (const e of plan.entries) {
    const i = e.index;
    const from = v.pos;
    if (i < 0) v.jsonString(e.text);
    else if (i >= count) v.ascii('""');
    else {
      const type = inst.type(i);
      const start = inst.start(i);
      const end = inst.end(i);
      if (type === ValueType.BinXml) return false;
      if (type === ValueType.Null) {
        if (e.optional) continue; // the element is left out
        v.ascii('""');
      } else if (type & ValueType.ArrayFlag) {
        if ((type & 0x7f) !== ValueType.String) return false;
        // NUL-separated UTF-16 strings (as decodeArray splits them), one element per item.
        let s = start;
        let items = 0;
        for (let p = start; p + 1 < end; p += 2) {
          if (buf[p] === 0 && buf[p + 1] === 0) {
            const at = v.pos;
            v.jsonUtf16(buf, s, p);
            put(e, at);
            items++;
            s = p + 2;
          }
        }
        if (s + 1 < end) {
          const at = v.pos;
          v.jsonUtf16(buf, s, end - ((end - s) & 1));
          put(e, at);
          items++;
        }
        if (items === 0) {
          v.ascii('""');
          put(e, from);
        }
        continue;
      } else if (!writeValueJson(v, buf, type, start, end)) {
        // Non-finite floats differ inside a JSON array (null): left to the generic path.
        if (type === ValueType.Real32 || type === ValueType.Real64) return false;
        v.add(entryJson(inst, e) as string);
      }
    }
    put(e, from);
  }
  w.byte(0x7b);
  for (let k = 0; k < keys.length; k++) {
    if (k > 0) w.byte(0x2c);
    w.add(keys[k]);
    const r = ranges[k];
    if (r.length === 2) w.copyFrom(v.buf, r[0], r[1]);
    else {
      w.byte(0x5b);
      for (let j = 0; j < r.length; j += 2) {
        if (j > 0) w.byte(0x2c);
        w.copyFrom(v.buf, r[j], r[j + 1]);
      }
      w.byte(0x5d);
    }
  }
  w.byte(0x7d);
  if (v.buf.length > 1 << 20) side = undefined; // a crafted record's large values are not kept
  return true;
}

/**
 * jsonValue(entryValue(inst, e)), knowing the value type: only text of the string types can need
 * escaping; GUIDs, SIDs, hex, times and numbers are written as they are.
 */
function entryJson(inst: TemplateInstance, e: DataPlanEntry): string | typeof NEEDS_TREE | typeof OMITTED {
  if (e.index < 0) return jsonValue(e.text);
  if (e.index >= inst.count) return '""';
  const type = inst.type(e.index);
  if (type === ValueType.BinXml || type & ValueType.ArrayFlag) return NEEDS_TREE;
  if (type === ValueType.Null) return e.optional ? OMITTED : '""';
  const v = decodeScalar(inst.chunk.buf, type, inst.start(e.index), inst.end(e.index));
  if (v === undefined) return '""';
  if (typeof v === 'string') return type === ValueType.String || type === ValueType.AnsiString ? jsonString(v) : `"${v}"`;
  if (v instanceof FileTime) return `"${v.toString()}"`;
  return jsonValue(v);
}

/** The template instance of a record that is exactly one instance (the fast paths need this). */
/** Substitution index of TimeCreated in a System plan (-1: none or a constant). */
function timeSlot(plan: Source[]): number {
  for (const src of plan) if (src.field === Field.TimeCreated) return src.index;
  return -1;
}

function singleInstance(nodes: Node[]): TemplateInstance | undefined {
  return nodes.length === 1 && nodes[0].k === NodeKind.Instance ? nodes[0].inst : undefined;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?Z$/;

function writeId(w: ByteOut, id: bigint | number): void {
  if (typeof id === 'bigint') w.ascii(`"${id}"`);
  else w.num(id);
}

export class EvtxRecordImpl {
  /** Carved from chunk slack by readEvtx(..., { recover: true }), not one of the log's records. */
  recovered = false;
  /** Decoded when first asked for, on the fast path (constructed at once when the tree is needed). */
  private systemCache?: EvtxSystem;
  private tree?: XNode[];
  private dataCache?: Record<string, unknown>;

  constructor(
    /** The record header's number (the chunk's sequence); equals EventRecordID in live logs only. */
    readonly headerRecordId: bigint | number,
    /** Record header time in ms since 1970; the Date is made only when asked for. */
    readonly writtenMs: number,
    private readonly chunk: ChunkContext,
    private readonly nodes: Node[],
  ) {
    const only = singleInstance(nodes);
    const plan = only ? systemPlan(only.def) : null;
    // A record that needs the element tree has it resolved now: one that cannot be is skipped by the reader.
    if (!(only && plan && planApplies(only, plan))) this.systemCache = systemFromTree(rootEvent(this.resolved()));
  }

  /** The bytes of the record's chunk (timeCreatedAt's offset is into these). */
  get chunkBuf(): Buffer {
    return this.chunk.buf;
  }

  get system(): EvtxSystem {
    if (this.systemCache === undefined) {
      const only = singleInstance(this.nodes)!;
      this.systemCache = systemFromPlan(only, systemPlan(only.def)!)!;
    }
    return this.systemCache;
  }

  /**
   * Level, provider and TimeCreated (what `evtx stats` counts) as system has them, without decoding
   * the other System fields when they were not asked for yet.
   */
  statsFields(): EvtxSystem {
    if (this.systemCache !== undefined) return this.systemCache;
    const only = singleInstance(this.nodes)!;
    return systemFromPlan(only, systemPlan(only.def)!, STATS_FIELDS)!;
  }

  /**
   * The start of renderJsonLine's text, from `{"recordId":` to threadId, written from the System
   * substitution values (no System object, strings or Date); false (nothing written) when this
   * record's System fields were decoded already or come from the element tree.
   */
  writeJsonHead(w: ByteOut): boolean {
    if (this.systemCache !== undefined) return false;
    const inst = singleInstance(this.nodes)!;
    const def = inst.def;
    const by = sourcesByField(def, systemPlan(def)!);
    const buf = inst.chunk.buf;
    w.ascii('{"recordId":');
    const idSrc = by[Field.EventRecordId];
    let id: number | bigint | undefined;
    if (idSrc !== undefined && idSrc.index >= 0 && idSrc.index < inst.count && inst.type(idSrc.index) === ValueType.UInt64 && inst.end(idSrc.index) - inst.start(idSrc.index) >= 8 && u32le(buf, inst.start(idSrc.index) + 4) < 0x200000) {
      const at = inst.start(idSrc.index);
      id = u32le(buf, at + 4) * 4294967296 + u32le(buf, at);
    } else if (idSrc !== undefined) {
      const v = planValue(inst, idSrc);
      id = v === SKIP ? undefined : toRecordId(v);
    }
    writeId(w, id ?? this.headerRecordId);
    w.ascii(',"headerRecordId":');
    writeId(w, this.headerRecordId);
    w.ascii(',"timeCreated":');
    const t = by[Field.TimeCreated];
    const ti = t === undefined ? -1 : t.index;
    if (ti >= 0 && ti < inst.count && inst.type(ti) === ValueType.FileTime && inst.end(ti) - inst.start(ti) >= 8) {
      const at = inst.start(ti);
      if (Math.abs(readFileTimeMs(buf, at)) <= 8.64e15) {
        w.byte(0x22);
        writeFileTimeIso(w, u32le(buf, at + 4), u32le(buf, at));
        w.byte(0x22);
      } else w.ascii('null');
    } else {
      // Text or other types: as timeCreatedText and renderJsonLine do it.
      const created = this.timeCreatedText();
      const ms = this.system.timeCreated?.getTime();
      w.ascii(created !== undefined ? `"${created}"` : ms !== undefined && Math.abs(ms) <= 8.64e15 ? `"${fastIsoMs(ms)}"` : 'null');
    }
    w.ascii(',"writtenTime":');
    const ms = this.writtenMs;
    if (Math.abs(ms) <= 8.64e15) {
      w.byte(0x22);
      writeIsoMs(w, ms);
      w.byte(0x22);
    } else w.ascii('null');
    writeTextField(w, inst, by[Field.Provider], ',"provider":');
    writeOptionalText(w, inst, by[Field.ProviderGuid], ',"providerGuid":');
    w.ascii(',"eventId":');
    w.num(planInt(inst, by[Field.EventId]) ?? 0);
    const level = planInt(inst, by[Field.Level]) ?? 0;
    w.ascii(',"level":');
    w.num(level);
    w.ascii(',"levelName":"');
    w.ascii(levelName(level));
    w.byte(0x22);
    writeOptionalInt(w, inst, by[Field.Task], ',"task":');
    writeOptionalInt(w, inst, by[Field.Opcode], ',"opcode":');
    writeOptionalText(w, inst, by[Field.Keywords], ',"keywords":');
    writeTextField(w, inst, by[Field.Computer], ',"computer":');
    writeTextField(w, inst, by[Field.Channel], ',"channel":');
    writeOptionalText(w, inst, by[Field.UserSid], ',"userSid":');
    writeOptionalInt(w, inst, by[Field.ProcessId], ',"processId":');
    writeOptionalInt(w, inst, by[Field.ThreadId], ',"threadId":');
    return true;
  }

  /** statsFields() into `out`, without the System object and Date when the fast path applies. */
  statsInto(out: StatsOf): void {
    if (this.systemCache === undefined) {
      const only = singleInstance(this.nodes)!;
      statsFromPlan(only, systemPlan(only.def)!, out);
      return;
    }
    const s = this.systemCache;
    out.level = s.level;
    out.provider = s.provider;
    const t = s.timeCreated?.getTime();
    out.timeMs = t === undefined ? NaN : t;
  }

  /** System/EventRecordID, or the header's number for a record without one. */
  get recordId(): bigint | number {
    return this.system.eventRecordId ?? this.headerRecordId;
  }

  /**
   * TimeCreated as Windows renders it, with all 7 fraction digits (2016-08-18T16:34:41.6152344Z);
   * undefined when the record has no usable time. system.timeCreated is the same instant cut to ms.
   */
  timeCreatedText(): string | undefined {
    const t = this.system.timeCreated?.getTime();
    if (t === undefined || !(Math.abs(t) <= 8.64e15)) return undefined;
    const only = singleInstance(this.nodes);
    const plan = only ? systemPlan(only.def) : null;
    if (only && plan) {
      const at = timeSlot(plan);
      if (at >= 0 && at < only.count && only.type(at) === ValueType.FileTime && only.end(at) - only.start(at) >= 8) {
        const buf = only.chunk.buf;
        const start = only.start(at);
        return fileTimeIso(buf.readUInt32LE(start + 4), buf.readUInt32LE(start));
      }
    }
    try {
      const event = rootEvent(this.resolved());
      const text = attrValue(event && childElement(event, 'System') && childElement(childElement(event, 'System')!, 'TimeCreated'), 'SystemTime');
      if (text !== undefined && ISO_TIME.test(text)) return text;
    } catch {
      // a damaged tree: the millisecond time below still holds
    }
    return undefined;
  }

  get writtenTime(): Date {
    return new Date(this.writtenMs);
  }

  /** Resolved element tree; throws BinXmlError on malformed nested values. */
  resolved(): XNode[] {
    if (!this.tree) this.tree = resolveRecord(this.nodes, this.chunk);
    return this.tree;
  }

  get data(): Record<string, unknown> {
    if (!this.dataCache) {
      const only = singleInstance(this.nodes);
      try {
        const fast = only ? dataFromInstance(only) : null;
        if (fast) return (this.dataCache = fast);
      } catch {
        // fall through to the generic path, which reports the same damage as an empty object
      }
      try {
        this.dataCache = extractData(rootEvent(this.resolved()));
      } catch {
        this.dataCache = {}; // a broken nested value must not break a consumer iterating records
      }
    }
    return this.dataCache;
  }

  /** JSON text of `data`; renders from the chunk bytes when the object was not built. */
  dataJson(): string {
    if (!this.dataCache) {
      const only = singleInstance(this.nodes);
      try {
        const fast = only ? dataJsonFromInstance(only) : null;
        if (fast !== null) return fast;
      } catch {
        // the object path below reports the same damage as an empty object
      }
    }
    return jsonObject(this.data);
  }

  /** dataJson() written as UTF-8 bytes. */
  writeDataJson(w: ByteOut): void {
    if (!this.dataCache) {
      const only = singleInstance(this.nodes);
      if (only) {
        const mark = w.pos;
        try {
          if (writeDataJsonFromInstance(w, only)) return;
        } catch {
          // the object path below reports the same damage as an empty object
        }
        w.pos = mark;
      }
    }
    w.add(jsonObject(this.data));
  }

  /**
   * Chunk offset of the FILETIME timeCreatedText() renders from the substitution values (its fast
   * path), or -1 when it needs the other path.
   */
  timeCreatedAt(): number {
    const t = this.system.timeCreated?.getTime();
    if (t === undefined || !(Math.abs(t) <= 8.64e15)) return -1;
    const only = singleInstance(this.nodes);
    const plan = only ? systemPlan(only.def) : null;
    if (only && plan) {
      const at = timeSlot(plan);
      if (at >= 0 && at < only.count && only.type(at) === ValueType.FileTime && only.end(at) - only.start(at) >= 8) return only.start(at);
    }
    return -1;
  }

  xml(): string {
    try {
      // Written straight from the template trees; the element tree is built only for data/System fallbacks.
      return renderRecordXml(this.nodes, this.chunk);
    } catch (e) {
      // "--" may not appear inside an XML comment.
      return `<!-- record ${this.recordId}: ${(e as Error).message.replace(/-(?=-)/g, '- ')} -->\n`;
    }
  }
}
