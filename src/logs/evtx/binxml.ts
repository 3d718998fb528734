// BinXml (MS-EVEN6 2.2.12) parsing inside one 64 KiB chunk.
// Template definitions are parsed once into a small tree and cached per chunk by offset; a record is
// a template instance (definition + value slices). Substituted values are decoded only on demand.

import { ValueType, u16le, u32le, ucs2 } from './values.js';

/** Thrown for malformed BinXml; the reader turns it into a 'record' warning. */
export class BinXmlError extends Error {}

const MAX_DEPTH = 64; // nested template / BinXml-value levels (crafted input can recurse)
const MAX_ELEMENT_DEPTH = 512;

export enum NodeKind {
  Element = 1,
  Text = 2,
  Subst = 3,
  CharRef = 4,
  EntityRef = 5,
  CData = 6,
  PI = 7,
  Instance = 8,
}

export interface ElementNode {
  k: NodeKind.Element;
  name: string;
  /** The name as the XML output writes it (resolve.ts), worked out once per template. */
  xname: string | undefined;
  /**
   * The written attributes when no attribute value has a substitution (resolve.ts), worked out once
   * per template, with the number of value nodes they count; null when they vary with the record.
   */
  constAttrs: { text: string; nodes: number } | null | undefined;
  /** Its written tags at one indentation, kept when the attributes are constant (resolve.ts). */
  xtags: { level: number; open: string; openLine: string; empty: string; close: string } | undefined;
  attrs: AttrNode[];
  children: Node[];
}
export interface AttrNode {
  name: string;
  /** As ElementNode.xname. */
  xname: string | undefined;
  value: Node[];
}
export interface TextNode {
  k: NodeKind.Text;
  s: string;
}
export interface SubstNode {
  k: NodeKind.Subst;
  index: number;
  type: number;
  optional: boolean;
}
export interface CharRefNode {
  k: NodeKind.CharRef;
  n: number;
}
export interface EntityRefNode {
  k: NodeKind.EntityRef;
  name: string;
}
export interface CDataNode {
  k: NodeKind.CData;
  s: string;
}
export interface PINode {
  k: NodeKind.PI;
  target: string;
  data: string;
}
export interface InstanceNode {
  k: NodeKind.Instance;
  inst: TemplateInstance;
}
export type Node = ElementNode | TextNode | SubstNode | CharRefNode | EntityRefNode | CDataNode | PINode | InstanceNode;

export interface TemplateDef {
  offset: number;
  nodes: Node[];
  /** Lazily computed System-field plan (see record.ts); undefined = not computed yet, null = not applicable. */
  plan?: unknown;
  /** Lazily computed EventData plan (see record.ts). */
  dataPlan?: unknown;
  /** The System plan's sources by field (see record.ts). */
  planByField?: unknown;
}

/**
 * Substitution values of one template instance: slices of the chunk buffer. Types and sizes are read
 * from the value descriptors in place; only the start offsets are kept (one array per record).
 */
export class TemplateInstance {
  /** Nested BinXml values parsed so far, by index; [] for a damaged one (left out of the output). */
  private nested?: Node[][];

  constructor(
    readonly def: TemplateDef,
    readonly chunk: ChunkContext,
    /** Chunk offset of the descriptors: per value u16 size, u8 type, u8 padding. */
    private readonly descriptors: number,
    /** Chunk offsets of the values, at [base, base + count) (a slab shared by the chunk's instances). */
    private readonly starts: Int32Array | number[],
    readonly depth: number,
    private readonly base = 0,
    readonly count = starts.length,
  ) {}

  type(i: number): number {
    return this.chunk.buf[this.descriptors + 4 * i + 2];
  }

  start(i: number): number {
    return this.starts[this.base + i];
  }

  end(i: number): number {
    const d = this.descriptors + 4 * i;
    const buf = this.chunk.buf;
    return this.starts[this.base + i] + (buf[d] | (buf[d + 1] << 8));
  }

  /** The nodes of BinXml value i, parsed once (the reader parses them all when it reads the record). */
  nestedNodes(i: number): Node[] {
    let nodes = this.nested?.[i];
    if (nodes === undefined) {
      nodes = parseStream(this.chunk, this.start(i), this.end(i), this.depth + 1);
      (this.nested ??= [])[i] = nodes;
    }
    return nodes;
  }

  /** Leaves a damaged nested value out of data and XML (the reader has reported it). */
  markDamaged(i: number): void {
    (this.nested ??= [])[i] = [];
  }
}

/** Cache marker for a template definition being parsed (a plain object: creating Errors is costly). */
const IN_PROGRESS: TemplateDef = { offset: -1, nodes: [] };

const NO_STARTS = new Int32Array(0);
/** Value offsets per slab: a chunk's records fill one or a few (no array per template instance). */
const STARTS_SLAB = 4096;

/** Per-chunk state: the chunk bytes plus the name and template caches (dropped with the chunk). */
export class ChunkContext {
  readonly names = new Map<number, string>();
  readonly templates = new Map<number, TemplateDef | BinXmlError>();
  /**
   * Bytes of template definitions this chunk may still parse. Real chunks define a few dozen
   * templates; crafted ones could point every record at a different 64 KiB "definition".
   */
  private templateBudget = 16 * 65536;
  /** Value offsets of template instances (TemplateInstance.start), filled from `startsUsed` on. */
  starts: Int32Array = NO_STARTS;
  private startsUsed = 0;
  constructor(
    readonly buf: Buffer,
    readonly len: number,
  ) {}

  /** Room for n value offsets in `starts`: their index there (a new slab when this one is full). */
  reserveStarts(n: number): number {
    if (this.startsUsed + n > this.starts.length) {
      this.starts = new Int32Array(Math.max(STARTS_SLAB, n));
      this.startsUsed = 0;
    }
    const base = this.startsUsed;
    this.startsUsed += n;
    return base;
  }

  /** Name structure at chunk offset: u32 next, u16 hash, u16 nchars, UTF-16LE chars, u16 NUL. */
  name(off: number): string {
    const cached = this.names.get(off);
    if (cached !== undefined) return cached;
    if (off + 8 > this.len) throw new BinXmlError(`name offset ${off} outside chunk`);
    const n = this.buf.readUInt16LE(off + 6);
    if (off + 8 + 2 * n > this.len) throw new BinXmlError(`name at ${off} runs past chunk end`);
    const s = ucs2(this.buf, off + 8, off + 8 + 2 * n);
    this.names.set(off, s);
    return s;
  }

  nameSize(off: number): number {
    return 8 + 2 * this.buf.readUInt16LE(off + 6) + 2;
  }

  /** Template definition at chunk offset: u32 next, GUID, u32 data size, BinXml fragment. */
  template(off: number): TemplateDef {
    const cached = this.templates.get(off);
    if (cached !== undefined) {
      if (cached === IN_PROGRESS) throw new BinXmlError(`template at ${off} refers to itself`);
      if (cached instanceof BinXmlError) throw cached;
      return cached;
    }
    // Marked before parsing so a definition that (directly or not) instantiates itself fails fast.
    this.templates.set(off, IN_PROGRESS);
    try {
      if (off < 512 || off + 24 > this.len) throw new BinXmlError(`template offset ${off} outside chunk`);
      const size = this.buf.readUInt32LE(off + 20);
      const start = off + 24;
      const end = Math.min(this.len, start + size);
      this.templateBudget -= end - start;
      if (this.templateBudget < 0) throw new BinXmlError('too many template definitions in one chunk');
      const p = new Parser(this, start, end, true, 0);
      const def: TemplateDef = { offset: off, nodes: p.parseFragment() };
      this.templates.set(off, def);
      return def;
    } catch (e) {
      const err = e instanceof BinXmlError ? e : new BinXmlError(`template at ${off}: ${(e as Error).message}`);
      this.templates.set(off, err);
      throw err;
    }
  }
}

export class Parser {
  constructor(
    readonly ctx: ChunkContext,
    public p: number,
    readonly end: number,
    /** Element starts carry a u16 dependency id inside template definitions only. */
    readonly inTemplate: boolean,
    readonly depth: number,
  ) {
    if (depth > MAX_DEPTH) throw new BinXmlError('BinXml nested too deeply');
  }

  private need(n: number): void {
    if (this.p + n > this.end) throw new BinXmlError(`BinXml truncated at ${this.p}`);
  }

  private u8(): number {
    this.need(1);
    return this.ctx.buf[this.p++];
  }

  private u16(): number {
    this.need(2);
    const v = u16le(this.ctx.buf, this.p);
    this.p += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = u32le(this.ctx.buf, this.p);
    this.p += 4;
    return v;
  }

  private utf16Counted(): string {
    const n = this.u16();
    this.need(2 * n);
    const s = ucs2(this.ctx.buf, this.p, this.p + 2 * n);
    this.p += 2 * n;
    return s;
  }

  /** A name reference; when it points at the current position the name is stored inline and skipped. */
  private nameRef(): string {
    const off = this.u32();
    const name = this.ctx.name(off);
    if (off === this.p) this.p += this.ctx.nameSize(off);
    return name;
  }

  /**
   * Top-level stream: fragment headers, template instances, elements, PIs, until EOF or end.
   * Several fragments may follow each other in one record (Shell-Core sample).
   */
  parseFragment(): Node[] {
    const out: Node[] = [];
    try {
      this.fragmentItems(out);
    } catch (e) {
      // A cut-off extra fragment after a complete one (seen at record ends in real logs) is slack.
      if (out.length === 0 || !(e instanceof BinXmlError)) throw e;
    }
    return out;
  }

  private fragmentItems(out: Node[]): void {
    const buf = this.ctx.buf;
    while (this.p < this.end) {
      const tok = buf[this.p];
      switch (tok & 0xbf) {
        case 0x00:
          this.p++;
          // EOF ends this fragment; another fragment header may follow.
          if (this.p < this.end && buf[this.p] === 0x0f) continue;
          return;
        case 0x0f:
          // A fragment header cut by the end of the record: nothing more to read.
          if (this.p + 4 > this.end && out.length > 0) return;
          this.need(4);
          this.p += 4;
          break;
        case 0x0c:
          out.push({ k: NodeKind.Instance, inst: this.templateInstance() });
          break;
        case 0x01:
          out.push(this.element(0));
          break;
        case 0x0a:
          out.push(this.pi());
          break;
        default:
          // Slack after a complete fragment is ignored (writers pad records); before it, it is damage.
          if (out.length > 0) return;
          throw new BinXmlError(`unexpected BinXml token 0x${tok.toString(16)} at ${this.p}`);
      }
    }
    return;
  }

  private pi(): PINode {
    this.p++;
    const target = this.nameRef();
    let data = '';
    if (this.p < this.end && this.ctx.buf[this.p] === 0x0b) {
      this.p++;
      data = this.utf16Counted();
    }
    return { k: NodeKind.PI, target, data };
  }

  private templateInstance(): TemplateInstance {
    this.p++; // token
    this.need(9);
    this.p += 5; // unknown u8 + template id u32
    const defOff = this.u32();
    if (defOff === this.p) {
      // Definition stored inline here: skip it (it is parsed/cached via ctx.template below).
      this.need(24);
      const size = this.ctx.buf.readUInt32LE(this.p + 20);
      this.p += 24;
      this.need(size);
      this.p += size;
    }
    const def = this.ctx.template(defOff);
    const count = this.u32();
    if (count * 4 > this.end - this.p) throw new BinXmlError(`template instance claims ${count} values`);
    const base = this.ctx.reserveStarts(count);
    const starts = this.ctx.starts;
    const buf = this.ctx.buf;
    const descriptors = this.p;
    let v = this.p + count * 4;
    for (let k = 0; k < count; k++) {
      const d = descriptors + 4 * k;
      starts[base + k] = v;
      v += buf[d] | (buf[d + 1] << 8);
    }
    if (v > this.end) throw new BinXmlError('substitution values run past the record');
    this.p = v;
    return new TemplateInstance(def, this.ctx, descriptors, starts, this.depth, base, count);
  }

  private element(level: number): ElementNode {
    if (level > MAX_ELEMENT_DEPTH) throw new BinXmlError('elements nested too deeply');
    const buf = this.ctx.buf;
    const tok = buf[this.p++];
    const start = this.p;
    // Dependency id: present inside template definitions; some writers differ, so fall back to the
    // other layout when the name offset is implausible (it must point inside the chunk, not ahead).
    let withDep = this.inTemplate;
    this.need(10);
    if (!this.plausibleName(start + (withDep ? 6 : 4), start + (withDep ? 10 : 8)) &&
        this.plausibleName(start + (withDep ? 4 : 6), start + (withDep ? 8 : 10))) {
      withDep = !withDep;
    }
    this.p = start + (withDep ? 6 : 4);
    const name = this.nameRef();
    const attrs: AttrNode[] = [];
    if (tok & 0x40) {
      this.u32(); // attribute list size
      while (this.p < this.end && (buf[this.p] & 0xbf) === 0x06) {
        const more = buf[this.p] & 0x40;
        this.p++;
        const attrName = this.nameRef();
        attrs.push({ name: attrName, xname: undefined, value: this.attrValue() });
        if (!more) break;
      }
    }
    const close = this.u8();
    const el: ElementNode = { k: NodeKind.Element, name, xname: undefined, constAttrs: undefined, xtags: undefined, attrs, children: [] };
    if (close === 0x03) return el;
    if (close !== 0x02) throw new BinXmlError(`bad close-start token 0x${close.toString(16)} at ${this.p - 1}`);
    this.content(el.children, level);
    return el;
  }

  private plausibleName(at: number, after: number): boolean {
    if (at + 4 > this.end) return false;
    const off = u32le(this.ctx.buf, at);
    return off === after || (off >= 512 && off + 8 <= this.ctx.len && off < after);
  }

  private attrValue(): Node[] {
    const out: Node[] = [];
    const buf = this.ctx.buf;
    while (this.p < this.end) {
      const base = buf[this.p] & 0xbf;
      if (base === 0x05) out.push(this.valueText());
      else if (base === 0x0d || base === 0x0e) out.push(this.subst());
      else if (base === 0x08) out.push(this.charRef());
      else if (base === 0x09) out.push(this.entityRef());
      else break;
    }
    return out;
  }

  private content(out: Node[], level: number): void {
    const buf = this.ctx.buf;
    for (;;) {
      this.need(1);
      const tok = buf[this.p];
      switch (tok & 0xbf) {
        case 0x04:
          this.p++;
          return;
        case 0x01:
          out.push(this.element(level + 1));
          break;
        case 0x05:
          out.push(this.valueText());
          break;
        case 0x07:
          this.p++;
          out.push({ k: NodeKind.CData, s: this.utf16Counted() });
          break;
        case 0x08:
          out.push(this.charRef());
          break;
        case 0x09:
          out.push(this.entityRef());
          break;
        case 0x0a:
          out.push(this.pi());
          break;
        case 0x0c:
          out.push({ k: NodeKind.Instance, inst: this.templateInstance() });
          break;
        case 0x0d:
        case 0x0e:
          out.push(this.subst());
          break;
        default:
          throw new BinXmlError(`unexpected token 0x${tok.toString(16)} in element content at ${this.p}`);
      }
    }
  }

  private valueText(): TextNode {
    this.p++;
    const type = this.u8();
    if (type !== ValueType.String) throw new BinXmlError(`value text of type 0x${type.toString(16)}`);
    return { k: NodeKind.Text, s: this.utf16Counted() };
  }

  private subst(): SubstNode {
    const tok = this.ctx.buf[this.p++];
    const index = this.u16();
    const type = this.u8();
    return { k: NodeKind.Subst, index, type, optional: tok === 0x0e };
  }

  private charRef(): CharRefNode {
    this.p++;
    return { k: NodeKind.CharRef, n: this.u16() };
  }

  private entityRef(): EntityRefNode {
    this.p++;
    return { k: NodeKind.EntityRef, name: this.nameRef() };
  }
}

/** Parses a record's BinXml (or a BinXml substitution value) found at [start, end) of the chunk. */
export function parseStream(ctx: ChunkContext, start: number, end: number, depth: number): Node[] {
  const p = new Parser(ctx, start, end, false, depth);
  return p.parseFragment();
}
