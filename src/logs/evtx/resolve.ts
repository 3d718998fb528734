// Turns parsed BinXml (template trees + substitution values) into a plain element tree, and renders
// that tree as XML. Used on demand only: xml(), and data / System fields of records the fast paths
// in record.ts do not cover.

import { type ChunkContext, type ElementNode, type Node, type SubstNode, type TemplateInstance, BinXmlError, NodeKind } from './binxml.js';
import { type Scalar, decodeArray, decodeScalar, scalarText, ValueType } from './values.js';

export interface XElement {
  t: 'e';
  name: string;
  /** The name as written in XML (xmlName of name), when known already. */
  xname?: string;
  /** Name, value, and the name as written in XML when known already. */
  attrs: [string, string, string?][];
  children: XNode[];
}
/** A text value (escaped when rendered). */
export interface XValue {
  t: 'v';
  v: Scalar;
}
/** Already-XML text: CDATA sections, processing instructions, unknown entity references. */
export interface XRaw {
  t: 'r';
  s: string;
}
export type XNode = XElement | XValue | XRaw;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isNullValue(inst: TemplateInstance | null, index: number): boolean {
  if (!inst || index >= inst.count) return true;
  return inst.type(index) === ValueType.Null || inst.start(index) === inst.end(index);
}

/**
 * Nodes one record may expand to. Templates are shared, so a crafted record can instantiate a large
 * definition thousands of times through nested values; real records stay in the hundreds.
 */
const MAX_RESOLVED_NODES = 200_000;
let nodeBudget = MAX_RESOLVED_NODES;

/** Resolves a whole record (its top-level node list) within the node budget. */
export function resolveRecord(nodes: Node[], ctx: ChunkContext): XNode[] {
  nodeBudget = MAX_RESOLVED_NODES;
  return resolveNodes(nodes, null, ctx, 0);
}

/** Resolves a node list (of a template definition when `inst` is given, else of a plain stream). */
export function resolveNodes(nodes: Node[], inst: TemplateInstance | null, ctx: ChunkContext, depth: number, out: XNode[] = []): XNode[] {
  nodeBudget -= nodes.length;
  if (nodeBudget < 0) throw new BinXmlError('record expands to too many XML nodes');
  for (const n of nodes) {
    switch (n.k) {
      case NodeKind.Element:
        resolveElement(n, inst, ctx, depth, out);
        break;
      case NodeKind.Text:
        out.push({ t: 'v', v: n.s });
        break;
      case NodeKind.Subst:
        resolveSubst(n.index, inst, ctx, depth, out);
        break;
      case NodeKind.CharRef:
        out.push({ t: 'v', v: String.fromCharCode(n.n) });
        break;
      case NodeKind.EntityRef: {
        const ch = ENTITIES[n.name];
        // An entity the document does not declare would make the output ill-formed: keep it as text.
        out.push({ t: 'v', v: ch !== undefined ? ch : `&${n.name};` });
        break;
      }
      case NodeKind.CData:
        out.push({ t: 'r', s: `<![CDATA[${xmlChars(n.s).replace(/]]>/g, ']]]]><![CDATA[>')}]]>` });
        break;
      case NodeKind.PI:
        out.push({ t: 'r', s: `<?${xmlName(n.target)}${n.data ? ' ' + xmlChars(n.data).replace(/\?>/g, '? >') : ''}?>` });
        break;
      case NodeKind.Instance:
        resolveNodes(n.inst.def.nodes, n.inst, n.inst.chunk, n.inst.depth, out);
        break;
    }
  }
  return out;
}

function resolveSubst(index: number, inst: TemplateInstance | null, ctx: ChunkContext, depth: number, out: XNode[]): void {
  if (!inst || index >= inst.count) return;
  const type = inst.type(index);
  const start = inst.start(index);
  const end = inst.end(index);
  if (type === ValueType.Null) return;
  if (type === ValueType.BinXml) {
    // Nested BinXml value (UserData of many events, CAPI2): parse it in the same chunk context.
    resolveNodes(inst.nestedNodes(index), null, ctx, depth + 1, out);
    return;
  }
  if (type & ValueType.ArrayFlag) {
    const items = decodeArray(ctx.buf, type, start, end);
    out.push({ t: 'v', v: items.map(scalarText).join(',') });
    return;
  }
  const v = decodeScalar(ctx.buf, type, start, end);
  out.push({ t: 'v', v: v === undefined ? '' : v });
}

function attrText(value: Node[], inst: TemplateInstance | null, ctx: ChunkContext, depth: number): string | undefined {
  // An optional substitution that is NULL removes the whole attribute (MS-EVEN6 2.2.12).
  if (value.length === 1 && value[0].k === NodeKind.Subst && value[0].optional && isNullValue(inst, value[0].index)) {
    return undefined;
  }
  let s = '';
  for (const part of resolveNodes(value, inst, ctx, depth)) {
    if (part.t === 'v') s += scalarText(part.v);
    else if (part.t === 'r') s += part.s;
  }
  return s;
}

function resolveElement(n: Node & { k: NodeKind.Element }, inst: TemplateInstance | null, ctx: ChunkContext, depth: number, out: XNode[]): void {
  const attrs: [string, string, string][] = [];
  for (const a of n.attrs) {
    const text = attrText(a.value, inst, ctx, depth);
    if (text !== undefined) attrs.push([a.name, text, (a.xname ??= xmlName(a.name))]);
  }
  const xname = (n.xname ??= xmlName(n.name));
  const only = n.children.length === 1 ? n.children[0] : undefined;
  // An element whose only content is a NULL optional substitution is left out (Windows drops the
  // empty <Binary/> of classic events this way).
  if (only && only.k === NodeKind.Subst && only.optional && inst && only.index < inst.count && inst.type(only.index) === ValueType.Null) return;
  // An element whose only content is an array substitution is repeated once per item.
  if (only && only.k === NodeKind.Subst && inst && only.index < inst.count && inst.type(only.index) & ValueType.ArrayFlag) {
    const items: Scalar[] = decodeArray(ctx.buf, inst.type(only.index), inst.start(only.index), inst.end(only.index));
    // An empty array still renders one empty element, as Windows, evtxexport and python-evtx do
    // (<Files><File/></Files>, not <Files/>).
    if (items.length === 0) items.push('');
    for (const item of items) out.push({ t: 'e', name: n.name, xname, attrs, children: [{ t: 'v', v: item }] });
    return;
  }
  out.push({ t: 'e', name: n.name, xname, attrs, children: resolveNodes(n.children, inst, ctx, depth) });
}

function isEmptyText(n: XNode): boolean {
  return n.t === 'v' && (n.v === '' || n.v === null);
}

/**
 * Characters XML 1.0 does not allow at all, not even as &#n; (C0 controls but tab, LF, CR; U+FFFE,
 * U+FFFF). Real logs hold them (e.g. MinPasswordAge = U+0003 in Security 4738); the XML output shows
 * U+FFFD in their place so the document stays well-formed. JSON lines keep the exact value.
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

function xmlChars(s: string): string {
  return s.replace(NOT_XML_CHAR, '\ufffd');
}

const SPECIAL_TEXT = /[&<>\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const SPECIAL_ATTR = /[&<>"\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export function escapeText(s: string): string {
  if (!SPECIAL_TEXT.test(s)) return s;
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  if (!SPECIAL_ATTR.test(s)) return s;
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const PLAIN_NAME = /^[A-Za-z_][-A-Za-z0-9._:]*$/;
const nameCache = new Map<string, string>();

/**
 * An element or attribute name usable in XML. Names come from the file: a crafted one ("a b", "<x")
 * would break the document, so characters no XML name may hold become "_".
 */
function xmlName(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  let safe = nameCache.get(name);
  if (safe === undefined) {
    safe = name.replace(/[^\p{L}\p{N}._:-]/gu, '_').replace(/^(?=[^\p{L}_:])/u, '_') || '_';
    if (nameCache.size > 1024) nameCache.clear();
    nameCache.set(name, safe);
  }
  return safe;
}

/** Renders like evtxexport: 2-space indentation, double quotes, text-only elements on one line. */
export function renderXml(nodes: XNode[]): string {
  out = '';
  for (const n of nodes) renderNode(n, 0);
  const text = out;
  out = '';
  return text;
}

// The text being rendered: appended to in place (no parts array to join, no closures per element);
// the writer flattens it once when it encodes the record.
let out = '';
const INDENTS: string[] = [''];

function indentOf(depth: number): string {
  while (INDENTS.length <= depth) INDENTS.push(`${INDENTS[INDENTS.length - 1]}  `);
  return INDENTS[depth];
}

function renderNode(n: XNode, depth: number): void {
  if (n.t === 'v') {
    out += escapeText(scalarText(n.v));
    return;
  }
  if (n.t === 'r') {
    out += n.s;
    return;
  }
  const indent = indentOf(depth);
  const name = n.xname ?? xmlName(n.name);
  out += `${indent}<${name}`;
  const attrs = n.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const k = attrs[i][0];
    // A repeated attribute makes the document ill-formed: the first one is kept.
    if (i > 0 && attrs.findIndex(([other]) => other === k) < i) continue;
    out += ` ${attrs[i][2] ?? xmlName(k)}="${escapeAttr(attrs[i][1])}"`;
  }
  const children = n.children;
  let empty = true;
  let hasElement = false;
  for (const c of children) {
    if (c.t === 'e') hasElement = true;
    if (empty && !isEmptyText(c)) empty = false;
  }
  if (empty) {
    out += '/>\n';
    return;
  }
  if (!hasElement) {
    out += '>';
    for (const c of children) renderNode(c, 0);
    out += `</${name}>\n`;
    return;
  }
  out += '>\n';
  const inner = indentOf(depth + 1);
  for (const c of children) {
    if (c.t === 'e') renderNode(c, depth + 1);
    else {
      out += inner;
      renderNode(c, depth + 1);
      out += '\n';
    }
  }
  out += `${indent}</${name}>\n`;
}

/** Concatenated text of an element's direct text children (typed when it is a single value). */
export function elementValue(e: XElement): unknown {
  const texts = e.children.filter((c): c is XValue | XRaw => c.t !== 'e');
  if (texts.length === 0) return '';
  if (texts.length === 1 && texts[0].t === 'v') return texts[0].v;
  return texts.map((c) => (c.t === 'v' ? scalarText(c.v) : c.s)).join('');
}

export function childElement(e: XElement, name: string): XElement | undefined {
  for (const c of e.children) if (c.t === 'e' && c.name === name) return c;
  return undefined;
}

export function attrValue(e: XElement | undefined, name: string): string | undefined {
  if (!e) return undefined;
  for (const [k, v] of e.attrs) if (k === name) return v;
  return undefined;
}

// Direct XML rendering of a record: the same text as renderXml(resolveRecord(nodes)), written from
// the template trees and substitution values without building the element tree first (that tree
// was most of the allocation and time of `evtx dump --format xml`). Node budget, omitted elements,
// repeated array elements, attribute order and layout follow resolveNodes/renderNode exactly.

/** An element met while collecting an element's content, rendered once the content's layout is known. */
interface PendingElement {
  n: ElementNode;
  inst: TemplateInstance | null;
  ctx: ChunkContext;
  depth: number;
}
/** Collected content: text values (unescaped), raw XML, and elements. */
type Item = PendingElement | { raw: string } | string;

function isArraySubst(n: ElementNode, inst: TemplateInstance | null): boolean {
  const only = n.children.length === 1 ? n.children[0] : undefined;
  return !!(only && only.k === NodeKind.Subst && inst && only.index < inst.count && inst.type(only.index) & ValueType.ArrayFlag);
}

function isOmitted(n: ElementNode, inst: TemplateInstance | null): boolean {
  const only = n.children.length === 1 ? n.children[0] : undefined;
  return !!(only && only.k === NodeKind.Subst && only.optional && inst && only.index < inst.count && inst.type(only.index) === ValueType.Null);
}

/** resolveNodes, collecting into `items` (elements left for later). */
function collect(nodes: Node[], inst: TemplateInstance | null, ctx: ChunkContext, depth: number, items: Item[]): void {
  nodeBudget -= nodes.length;
  if (nodeBudget < 0) throw new BinXmlError('record expands to too many XML nodes');
  for (const n of nodes) {
    switch (n.k) {
      case NodeKind.Element:
        if (isOmitted(n, inst)) attributes(n, inst, ctx, depth); // resolved (and counted) all the same
        else items.push({ n, inst, ctx, depth });
        break;
      case NodeKind.Text:
        items.push(n.s);
        break;
      case NodeKind.Subst:
        collectSubst(n.index, inst, ctx, depth, items);
        break;
      case NodeKind.CharRef:
        items.push(String.fromCharCode(n.n));
        break;
      case NodeKind.EntityRef: {
        const ch = ENTITIES[n.name];
        items.push(ch !== undefined ? ch : `&${n.name};`);
        break;
      }
      case NodeKind.CData:
        items.push({ raw: `<![CDATA[${xmlChars(n.s).replace(/]]>/g, ']]]]><![CDATA[>')}]]>` });
        break;
      case NodeKind.PI:
        items.push({ raw: `<?${xmlName(n.target)}${n.data ? ' ' + xmlChars(n.data).replace(/\?>/g, '? >') : ''}?>` });
        break;
      case NodeKind.Instance:
        collect(n.inst.def.nodes, n.inst, n.inst.chunk, n.inst.depth, items);
        break;
    }
  }
}

function collectSubst(index: number, inst: TemplateInstance | null, ctx: ChunkContext, depth: number, items: Item[]): void {
  if (!inst || index >= inst.count) return;
  const type = inst.type(index);
  if (type === ValueType.Null) return;
  if (type === ValueType.BinXml) {
    collect(inst.nestedNodes(index), null, ctx, depth + 1, items);
    return;
  }
  if (type & ValueType.ArrayFlag) {
    items.push(decodeArray(ctx.buf, type, inst.start(index), inst.end(index)).map(scalarText).join(','));
    return;
  }
  items.push(scalarText(decodeScalar(ctx.buf, type, inst.start(index), inst.end(index))));
}

/** ` name="value"...` of an element (first of a repeated name kept), as resolveElement + renderNode. */
function attributes(n: ElementNode, inst: TemplateInstance | null, ctx: ChunkContext, depth: number): string {
  if (n.attrs.length === 0) return '';
  const fixed = n.constAttrs;
  if (fixed) {
    nodeBudget -= fixed.nodes;
    if (nodeBudget < 0) throw new BinXmlError('record expands to too many XML nodes');
    return fixed.text;
  }
  const text = attributesOf(n, inst, ctx, depth);
  // Attributes without substitutions (xmlns, Data Name=...) read the same in every record.
  if (fixed === undefined) {
    let nodes = 0;
    let constant = true;
    for (const a of n.attrs) {
      nodes += a.value.length;
      if (a.value.some((v) => v.k === NodeKind.Subst)) constant = false;
    }
    n.constAttrs = constant ? { text, nodes } : null;
  }
  return text;
}

function attributesOf(n: ElementNode, inst: TemplateInstance | null, ctx: ChunkContext, depth: number): string {
  let s = '';
  let seen: string[] | undefined;
  for (const a of n.attrs) {
    const text = attrEscaped(a.value, inst, ctx, depth);
    if (text === undefined) continue;
    if (seen === undefined) seen = [a.name];
    else if (seen.includes(a.name)) continue;
    else seen.push(a.name);
    s += ` ${(a.xname ??= xmlName(a.name))}="${text}"`;
  }
  return s;
}

/** Value types whose text can hold characters XML escapes; the others are digits, hex, GUIDs, SIDs, times. */
function mayNeedEscape(type: number): boolean {
  return type === ValueType.String || type === ValueType.AnsiString;
}

/** escapeAttr(attrText(...)): one substituted scalar (most attributes) decoded and written directly. */
function attrEscaped(value: Node[], inst: TemplateInstance | null, ctx: ChunkContext, depth: number): string | undefined {
  const only = value.length === 1 ? value[0] : undefined;
  if (only && only.k === NodeKind.Subst && inst && only.index < inst.count) {
    const type = inst.type(only.index);
    if (type !== ValueType.BinXml && !(type & ValueType.ArrayFlag)) {
      const start = inst.start(only.index);
      const end = inst.end(only.index);
      if (only.optional && (type === ValueType.Null || start === end)) return undefined;
      nodeBudget -= 1;
      if (nodeBudget < 0) throw new BinXmlError('record expands to too many XML nodes');
      if (type === ValueType.Null) return '';
      const text = scalarText(decodeScalar(ctx.buf, type, start, end));
      return mayNeedEscape(type) ? escapeAttr(text) : text;
    }
  }
  const text = attrText(value, inst, ctx, depth);
  return text === undefined ? undefined : escapeAttr(text);
}

function isItemElement(item: Item): item is PendingElement {
  return typeof item === 'object' && 'n' in item;
}

function itemText(item: Item): string {
  return typeof item === 'string' ? escapeText(item) : (item as { raw: string }).raw;
}

/** Writes one element (already known not to be omitted) at `level` of indentation. */
function writeElement(p: PendingElement, level: number): void {
  const { n, inst, ctx, depth } = p;
  const attrs = attributes(n, inst, ctx, depth);
  // Tags are the same in every record when the attributes are (most elements): built once.
  const constant = n.attrs.length === 0 || !!n.constAttrs;
  let tags = n.xtags;
  if (tags === undefined || tags.level !== level || !constant) {
    const xname = (n.xname ??= xmlName(n.name));
    const head = `${indentOf(level)}<${xname}${attrs}`;
    tags = { level, open: `${head}>`, openLine: `${head}>\n`, empty: `${head}/>\n`, close: `</${xname}>\n` };
    if (constant) n.xtags = tags;
  }
  if (isArraySubst(n, inst)) {
    const only = n.children[0] as SubstNode;
    const items = decodeArray(ctx.buf, inst!.type(only.index), inst!.start(only.index), inst!.end(only.index));
    if (items.length === 0) items.push('');
    for (const item of items) {
      const text = scalarText(item);
      if (text === '') out += tags.empty;
      else {
        out += tags.open;
        out += escapeText(text);
        out += tags.close;
      }
    }
    return;
  }
  const kids = n.children;
  const only = kids.length === 1 ? kids[0] : undefined;
  // One text or scalar value (most elements): no list needed.
  if (kids.length === 0 || (only && (only.k === NodeKind.Text || (only.k === NodeKind.Subst && inst && only.index < inst.count && !(inst.type(only.index) & ValueType.ArrayFlag) && inst.type(only.index) !== ValueType.BinXml && inst.type(only.index) !== ValueType.Null)))) {
    nodeBudget -= kids.length;
    if (nodeBudget < 0) throw new BinXmlError('record expands to too many XML nodes');
    let text = '';
    let escaped = '';
    if (only?.k === NodeKind.Text) escaped = escapeText((text = only.s));
    else if (only) {
      const i = (only as SubstNode).index;
      const type = inst!.type(i);
      text = scalarText(decodeScalar(ctx.buf, type, inst!.start(i), inst!.end(i)));
      escaped = mayNeedEscape(type) ? escapeText(text) : text;
    }
    if (text === '') out += tags.empty;
    else {
      out += tags.open;
      out += escaped;
      out += tags.close;
    }
    return;
  }
  const items: Item[] = [];
  collect(kids, inst, ctx, depth, items);
  let empty = true;
  let hasElement = false;
  for (const item of items) {
    if (isItemElement(item)) hasElement = true;
    if (empty && item !== '') empty = false;
  }
  if (empty) {
    out += tags.empty;
    return;
  }
  if (!hasElement) {
    out += tags.open;
    for (const item of items) out += itemText(item);
    out += tags.close;
    return;
  }
  out += tags.openLine;
  const inner = indentOf(level + 1);
  for (const item of items) {
    if (isItemElement(item)) writeElement(item, level + 1);
    else out += `${inner}${itemText(item)}\n`;
  }
  out += indentOf(level);
  out += tags.close;
}

/** renderXml(resolveRecord(nodes, ctx)), without the tree; throws as resolveRecord does. */
export function renderRecordXml(nodes: Node[], ctx: ChunkContext): string {
  nodeBudget = MAX_RESOLVED_NODES;
  out = '';
  try {
    const items: Item[] = [];
    collect(nodes, null, ctx, 0, items);
    for (const item of items) {
      if (isItemElement(item)) writeElement(item, 0);
      else out += itemText(item);
    }
    return out;
  } finally {
    out = '';
  }
}
