// Safe XML for license files: bounded size, no DTD or entity declarations (XML bombs, XXE), then
// fast-xml-parser with attributes kept and no type guessing (a "0012" stays "0012").
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { LicenseError } from './errors.js';

/** Requests, responses and installed licenses are small; anything larger is refused before reading it all. */
export const MAX_LICENSE_BYTES = 1024 * 1024;

const ATTR = '@_';
/** Elements that may repeat: always arrays, so one and many read the same way. */
const REPEATED = new Set(['Server', 'Unreachable', 'Component', 'CoveredServer', 'Module', 'VendorPayload', 'Note']);

export type XmlNode = Record<string, unknown>;

export function assertSafeXml(bytes: Buffer, what: string): string {
  if (bytes.length > MAX_LICENSE_BYTES)
    throw new LicenseError('LICENSE_TOO_LARGE', `${what} is ${bytes.length} bytes, more than the ${MAX_LICENSE_BYTES} allowed`, 'this is not a clk-support license file; check that you picked the right file');
  const text = bytes.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new LicenseError('LICENSE_DTD_FORBIDDEN', `${what} contains a DTD or entity declaration, which license files never have`, 'the file was altered or is not a clk-support license file: ask SAP for a new one; do not edit it');
  return text;
}

export function parseXml(bytes: Buffer, what: string): XmlNode {
  const text = assertSafeXml(bytes, what);
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new LicenseError('LICENSE_MALFORMED', `${what} is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`, 'the file is truncated or damaged: copy it again from the original (binary transfer, no editor)');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: ATTR,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (name) => REPEATED.has(name),
  });
  try {
    return parser.parse(text) as XmlNode;
  } catch (err) {
    throw new LicenseError('LICENSE_MALFORMED', `${what} cannot be parsed: ${(err as Error).message}`, 'the file is damaged: copy it again from the original');
  }
}

export function buildXml(root: XmlNode): string {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: ATTR, format: true, indentBy: '  ', suppressEmptyNode: true, suppressBooleanAttributes: false });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(root) as string}`;
}

/** An attribute as a string, or undefined. */
export function attr(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[ATTR + name];
  return typeof v === 'string' ? v : v === undefined ? undefined : String(v);
}

export function child(node: unknown, name: string): XmlNode | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[name];
  if (Array.isArray(v)) return v[0] as XmlNode;
  return v && typeof v === 'object' ? (v as XmlNode) : undefined;
}

export function children(node: unknown, name: string): XmlNode[] {
  if (!node || typeof node !== 'object') return [];
  const v = (node as XmlNode)[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'object' && x !== null ? (x as XmlNode) : { '#text': String(x) }));
}

/** The text content of an element (with or without attributes). */
export function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object') {
    const t = (node as XmlNode)['#text'];
    return t === undefined ? undefined : String(t);
  }
  return undefined;
}

export const A = (name: string) => ATTR + name;

/** The text of a named child element (<Nonce>abc</Nonce>). */
export function childText(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return text(first);
}
