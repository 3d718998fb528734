// clk-support's own license file formats (ClickSoftware's are not public), versioned and documented
// in docs/license.md: the License.request, the signed response envelope and the grant inside it.
// The installed license file is the response envelope itself, so any machine can re-verify it.
import { LicenseError } from './errors.js';
import { A, assertSafeXml, attr, buildXml, child, childText, children, parseXml, type XmlNode } from './xml.js';

export const REQUEST_FORMAT_VERSION = '1';
export const RESPONSE_FORMAT_VERSION = '1';
export const GRANT_FORMAT_VERSION = '1';

export interface FingerprintEntry {
  kind: string;
  hash: string;
  source?: string;
}

export interface CurrentLicenseInfo {
  licenseId: string;
  sequence: number;
  notAfter: string;
  sha256: string;
}

export interface VendorAttachment {
  name: string;
  sha256: string;
  /** base64 of the opaque bytes */
  data: string;
}

export interface RequestServer {
  name: string;
  role: string;
  platform: string;
  hostname: string;
  os: string;
  version?: string;
  build?: string;
  /** How many of the components below must still match for the license to hold. */
  minMatches: number;
  fingerprint: FingerprintEntry[];
  currentLicense?: CurrentLicenseInfo;
  vendorRequest?: VendorAttachment;
  notes: string[];
}

export interface UnreachableServer {
  name: string;
  role: string;
  expected: boolean;
  reason: string;
  detail: string;
}

export interface LicenseRequest {
  formatVersion: string;
  requestId: string;
  createdAt: string;
  tool: string;
  nonce: string;
  coordinator: string;
  customer: { customerNumber: string; installationNumber: string; systemId: string };
  farm: { name: string; environment: string; product: string; expectedServers: number; reachedServers: number; partial: boolean };
  servers: RequestServer[];
  unreachable: UnreachableServer[];
}

export interface CoveredServer {
  name: string;
  minMatches: number;
  components: FingerprintEntry[];
}

export interface LicenseGrant {
  formatVersion: string;
  licenseId: string;
  responseId: string;
  requestId: string;
  requestSha256: string;
  nonce: string;
  issuedAt: string;
  notBefore: string;
  notAfter: string;
  sequence: number;
  customer: { customerNumber: string; installationNumber: string; systemId: string };
  farmName: string;
  covered: CoveredServer[];
  modules: { id: string; users?: number }[];
}

export interface ResponseEnvelope {
  formatVersion: string;
  payload: Buffer;
  alg: string;
  keyId: string;
  signature: Buffer;
}

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;
const BASE64 = /^[A-Za-z0-9+/=\s]*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

export function isServerName(name: string): boolean {
  return SERVER_NAME.test(name) && !name.includes('..');
}

export function isRequestId(id: string): boolean {
  return UUID.test(id);
}

// ---------------------------------------------------------------- request

export function buildRequestXml(r: LicenseRequest): string {
  const root: XmlNode = {
    ClkLicenseRequest: {
      [A('formatVersion')]: r.formatVersion,
      [A('requestId')]: r.requestId,
      [A('createdAt')]: r.createdAt,
      [A('tool')]: r.tool,
      [A('coordinator')]: r.coordinator,
      Customer: { [A('customerNumber')]: r.customer.customerNumber, [A('installationNumber')]: r.customer.installationNumber, [A('systemId')]: r.customer.systemId },
      Nonce: r.nonce,
      Farm: {
        [A('name')]: r.farm.name,
        [A('environment')]: r.farm.environment,
        [A('product')]: r.farm.product,
        [A('expectedServers')]: String(r.farm.expectedServers),
        [A('reachedServers')]: String(r.farm.reachedServers),
        [A('partial')]: String(r.farm.partial),
        Server: r.servers.map((s) => ({
          [A('name')]: s.name,
          [A('role')]: s.role,
          [A('platform')]: s.platform,
          [A('hostname')]: s.hostname,
          Fingerprint: {
            [A('scheme')]: 'clk-fp-v1',
            [A('minMatches')]: String(s.minMatches),
            Component: s.fingerprint.map((c) => ({ [A('kind')]: c.kind, [A('hash')]: c.hash, ...(c.source ? { [A('source')]: c.source } : {}) })),
          },
          Installed: { [A('os')]: s.os, ...(s.version ? { [A('version')]: s.version } : {}), ...(s.build ? { [A('build')]: s.build } : {}) },
          ...(s.currentLicense
            ? { CurrentLicense: { [A('licenseId')]: s.currentLicense.licenseId, [A('sequence')]: String(s.currentLicense.sequence), [A('notAfter')]: s.currentLicense.notAfter, [A('sha256')]: s.currentLicense.sha256 } }
            : {}),
          ...(s.vendorRequest
            ? { VendorPayload: [{ [A('name')]: s.vendorRequest.name, [A('sha256')]: s.vendorRequest.sha256, [A('encoding')]: 'base64', '#text': s.vendorRequest.data }] }
            : {}),
          ...(s.notes.length ? { Note: s.notes } : {}),
        })),
        Unreachable: r.unreachable.map((u) => ({ [A('name')]: u.name, [A('role')]: u.role, [A('expected')]: String(u.expected), [A('reason')]: u.reason, [A('detail')]: u.detail })),
      },
    },
  };
  return `${buildXml(root)}\n`;
}

/** Parse a request we wrote (our own journal copy, or a file an admin hands back). */
export function parseRequest(bytes: Buffer, what = 'License.request'): LicenseRequest {
  const doc = parseXml(bytes, what);
  const root = child(doc, 'ClkLicenseRequest');
  const bad = (m: string) => new LicenseError('LICENSE_MALFORMED', `${what}: ${m}`, 'this is not a License.request written by clk-support, or it was edited');
  if (!root) throw bad('no <ClkLicenseRequest> root element');
  if (attr(root, 'formatVersion') !== REQUEST_FORMAT_VERSION) throw bad(`unsupported formatVersion "${attr(root, 'formatVersion')}"`);
  const requestId = attr(root, 'requestId') ?? '';
  if (!isRequestId(requestId)) throw bad('requestId is not a UUID');
  const customer = child(root, 'Customer');
  const farm = child(root, 'Farm');
  const servers = children(farm, 'Server').map((s): RequestServer => {
    const name = attr(s, 'name') ?? '';
    if (!isServerName(name)) throw bad(`server name ${JSON.stringify(name)} is not a host name`);
    const fp = child(s, 'Fingerprint');
    const installed = child(s, 'Installed');
    const cur = child(s, 'CurrentLicense');
    return {
      name,
      role: attr(s, 'role') ?? '',
      platform: attr(s, 'platform') ?? '',
      hostname: attr(s, 'hostname') ?? '',
      os: attr(installed, 'os') ?? '',
      version: attr(installed, 'version'),
      build: attr(installed, 'build'),
      minMatches: Number(attr(fp, 'minMatches') ?? '1'),
      fingerprint: children(fp, 'Component').map((c) => ({ kind: attr(c, 'kind') ?? '', hash: attr(c, 'hash') ?? '', source: attr(c, 'source') })),
      currentLicense: cur
        ? { licenseId: attr(cur, 'licenseId') ?? '', sequence: Number(attr(cur, 'sequence')), notAfter: attr(cur, 'notAfter') ?? '', sha256: attr(cur, 'sha256') ?? '' }
        : undefined,
      notes: children(s, 'Note').map((n) => String(n['#text'] ?? '')),
    };
  });
  return {
    formatVersion: REQUEST_FORMAT_VERSION,
    requestId,
    createdAt: attr(root, 'createdAt') ?? '',
    tool: attr(root, 'tool') ?? '',
    coordinator: attr(root, 'coordinator') ?? '',
    nonce: childText(root, 'Nonce') ?? '',
    customer: { customerNumber: attr(customer, 'customerNumber') ?? '', installationNumber: attr(customer, 'installationNumber') ?? '', systemId: attr(customer, 'systemId') ?? '' },
    farm: {
      name: attr(farm, 'name') ?? '',
      environment: attr(farm, 'environment') ?? '',
      product: attr(farm, 'product') ?? '',
      expectedServers: Number(attr(farm, 'expectedServers')),
      reachedServers: Number(attr(farm, 'reachedServers')),
      partial: attr(farm, 'partial') === 'true',
    },
    servers,
    unreachable: children(farm, 'Unreachable').map((u) => ({
      name: attr(u, 'name') ?? '',
      role: attr(u, 'role') ?? '',
      expected: attr(u, 'expected') !== 'false',
      reason: attr(u, 'reason') ?? '',
      detail: attr(u, 'detail') ?? '',
    })),
  };
}

// ---------------------------------------------------------------- response envelope

/** Parse the outer envelope only; the payload stays bytes until its signature is verified. */
export function parseEnvelope(bytes: Buffer, what: string): ResponseEnvelope {
  // Unsigned extras are refused before the XML parser, which would drop or reject them silently.
  assertCanonicalEnvelope(assertSafeXml(bytes, what), what);
  const doc = parseXml(bytes, what);
  const root = child(doc, 'ClkLicenseResponse');
  const bad = (m: string) =>
    new LicenseError('LICENSE_MALFORMED', `${what}: ${m}`, 'this is not a clk-support license response, or it was cut short: copy the file again from what SAP sent');
  if (!root) throw bad('no <ClkLicenseResponse> root element');
  const version = attr(root, 'formatVersion');
  if (version !== RESPONSE_FORMAT_VERSION)
    throw new LicenseError('LICENSE_FORMAT_UNSUPPORTED', `${what}: response formatVersion "${version}" is not supported (this clk-support reads ${RESPONSE_FORMAT_VERSION})`, 'update clk-support, or ask for a version 1 response');
  const payloadNode = root['Payload'];
  const sigNode = child(root, 'Signature') ?? (typeof root['Signature'] === 'string' ? { '#text': root['Signature'] } : undefined);
  const payloadText = typeof payloadNode === 'string' ? payloadNode : childText(root, 'Payload');
  if (!payloadText || !BASE64.test(payloadText)) throw bad('<Payload> is missing or not base64');
  const encoding = typeof payloadNode === 'object' ? attr(payloadNode, 'encoding') : undefined;
  if (encoding !== undefined && encoding !== 'base64') throw bad(`<Payload encoding="${encoding}"> is not base64`);
  const sigText = childText(root, 'Signature');
  if (!sigNode || !sigText || !BASE64.test(sigText)) throw bad('<Signature> is missing or not base64');
  const keyId = attr(sigNode, 'keyId');
  if (!keyId) throw bad('<Signature> has no keyId');
  return {
    formatVersion: version,
    payload: Buffer.from(payloadText.replace(/\s+/g, ''), 'base64'),
    alg: attr(sigNode, 'alg') ?? '',
    keyId,
    signature: Buffer.from(sigText.replace(/\s+/g, ''), 'base64'),
  };
}

/** The only elements and attributes an envelope has; each element once, nothing else anywhere. */
const ENVELOPE_SHAPE: Record<string, { parent: string | undefined; attrs: readonly string[] }> = {
  ClkLicenseResponse: { parent: undefined, attrs: ['formatVersion'] },
  Payload: { parent: 'ClkLicenseResponse', attrs: ['encoding'] },
  Signature: { parent: 'ClkLicenseResponse', attrs: ['alg', 'keyId'] },
};
const ATTRIBUTE = /\s+([^\s=/>]+)\s*=\s*("[^"<]*"|'[^'<]*')/y;

/**
 * The envelope is canonical: an optional XML declaration, then <ClkLicenseResponse> holding one
 * <Payload> and one <Signature> with their known attributes, base64 inside them and whitespace
 * between them. Anything else (other elements or attributes, comments, processing instructions,
 * CDATA, text outside the signed payload) is refused: it is not covered by the signature, and an
 * installed license must carry nothing unsigned.
 */
export function assertCanonicalEnvelope(text: string, what: string): void {
  const refuse = (m: string) =>
    new LicenseError('LICENSE_ENVELOPE_NOT_CANONICAL', `${what}: the envelope ${m}, outside the signed payload`, 'a clk-support response holds only <Payload> and <Signature>: use the file exactly as SAP sent it (do not edit or re-save it)');
  let rest = text.replace(/^\uFEFF/, '');
  const decl = /^<\?xml(\s+(version|encoding|standalone)\s*=\s*("[^"]*"|'[^']*'))*\s*\?>/.exec(rest);
  if (decl) rest = rest.slice(decl[0].length);
  const stack: string[] = [];
  const seen = new Set<string>();
  let closedRoot = false;
  for (const m of rest.matchAll(/<[^>]*>?|[^<]+/g)) {
    const tok = m[0];
    if (!tok.startsWith('<')) {
      const inside = stack[stack.length - 1];
      if (inside === 'Payload' || inside === 'Signature' ? !/^[A-Za-z0-9+/=\s]*$/.test(tok) : !/^\s*$/.test(tok))
        throw refuse(`has text ${inside ? `in <${inside}>` : 'outside its root element'} (${JSON.stringify(tok.trim().slice(0, 40))})`);
      continue;
    }
    if (!tok.endsWith('>')) return; // cut short: the XML parser says so
    if (tok.startsWith('<!--')) throw refuse('has a comment');
    if (tok.startsWith('<?')) throw refuse('has a processing instruction');
    if (tok.startsWith('<!')) throw refuse(`has ${tok.startsWith('<![CDATA[') ? 'a CDATA section' : 'a declaration'}`);
    const end = /^<\/([^\s>]+)\s*>$/.exec(tok);
    if (end) {
      if (stack.pop() !== end[1]) return; // not well-formed: the XML parser says where
      if (stack.length === 0) closedRoot = true;
      continue;
    }
    const start = /^<([^\s/>]+)/.exec(tok);
    const name = start?.[1] ?? '';
    if (stack.length === 0 && !closedRoot && name !== 'ClkLicenseResponse') return; // not an envelope at all
    const shape = ENVELOPE_SHAPE[name];
    if (!shape || shape.parent !== stack[stack.length - 1] || closedRoot) throw refuse(`has an element <${name.slice(0, 40)}> where none belongs`);
    if (seen.has(name)) throw refuse(`has <${name}> twice`);
    seen.add(name);
    let i = start![0].length;
    const attrs = new Set<string>();
    for (;;) {
      ATTRIBUTE.lastIndex = i;
      const a = ATTRIBUTE.exec(tok);
      if (!a) break;
      if (name === 'ClkLicenseResponse' && a[1] === 'formatVersion' && a[2].slice(1, -1) !== RESPONSE_FORMAT_VERSION) return; // another format: the version check speaks
      if (a[2].includes('&')) throw refuse(`has an entity or character reference in the attribute ${a[1].slice(0, 40)}`);
      if (!shape.attrs.includes(a[1]) || attrs.has(a[1])) throw refuse(`has an attribute ${a[1].slice(0, 40)} on <${name}> that is not part of the format`);
      attrs.add(a[1]);
      i = ATTRIBUTE.lastIndex;
    }
    const tail = tok.slice(i);
    if (!/^\s*>$/.test(tail)) throw refuse(`has <${name}> in a form that is not part of the format`);
    stack.push(name);
  }
  // An envelope cut short is left to the XML parser (LICENSE_MALFORMED).
}

export function buildEnvelopeXml(e: Omit<ResponseEnvelope, 'formatVersion'>): string {
  const b64 = e.payload.toString('base64').replace(/(.{76})/g, '$1\n');
  return `${buildXml({
    ClkLicenseResponse: {
      [A('formatVersion')]: RESPONSE_FORMAT_VERSION,
      Payload: { [A('encoding')]: 'base64', '#text': b64 },
      Signature: { [A('alg')]: e.alg, [A('keyId')]: e.keyId, '#text': e.signature.toString('base64') },
    },
  })}\n`;
}

// ---------------------------------------------------------------- grant (the signed payload)

/** Parse the grant from verified payload bytes; every field is checked, names and ids before any use in a path. */
export function parseGrant(payload: Buffer, what: string): LicenseGrant {
  const doc = parseXml(payload, `${what} (signed payload)`);
  const root = child(doc, 'ClkLicenseGrant');
  const bad = (m: string) =>
    new LicenseError('LICENSE_MALFORMED', `${what}: the signed grant ${m}`, 'the response is genuine but not usable by this clk-support: send it with the error to SAP support (XX-PART-CLK-LKY)');
  if (!root) throw bad('has no <ClkLicenseGrant> root element');
  if (attr(root, 'formatVersion') !== GRANT_FORMAT_VERSION)
    throw new LicenseError('LICENSE_FORMAT_UNSUPPORTED', `${what}: grant formatVersion "${attr(root, 'formatVersion')}" is not supported`, 'update clk-support');
  const req = (name: string, test: RegExp | ((v: string) => boolean)) => {
    const v = attr(root, name);
    if (v === undefined || v === '') throw bad(`lacks ${name}`);
    if (typeof test === 'function' ? !test(v) : !test.test(v)) throw bad(`has an invalid ${name}: ${JSON.stringify(v.slice(0, 80))}`);
    return v;
  };
  const licenseId = req('licenseId', /^[A-Za-z0-9._:-]{1,80}$/);
  const responseId = req('responseId', /^[A-Za-z0-9._:-]{1,80}$/);
  const requestId = req('requestId', isRequestId);
  const requestSha256 = req('requestSha256', (v) => HEX.test(v) && v.length === 64);
  const nonce = req('nonce', /^[A-Za-z0-9+/=_-]{16,128}$/);
  const issuedAt = req('issuedAt', (v) => ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)));
  const notBefore = req('notBefore', (v) => ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)));
  const notAfter = req('notAfter', (v) => ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)));
  const sequence = Number(req('sequence', /^\d{1,9}$/));
  const customer = child(root, 'Customer');
  const farm = child(root, 'Farm');
  const covered = children(root, 'CoveredServer').map((s) => {
    const name = attr(s, 'name') ?? '';
    if (!isServerName(name)) throw bad(`names a server ${JSON.stringify(name.slice(0, 80))} that is not a host name`);
    const minMatches = Number(attr(s, 'minMatches') ?? '0');
    if (!Number.isInteger(minMatches) || minMatches < 1) throw bad(`gives ${name} an invalid minMatches`);
    const components = children(s, 'Component').map((c) => {
      const kind = attr(c, 'kind') ?? '';
      const hash = attr(c, 'hash') ?? '';
      if (!/^[a-z0-9-]{1,40}$/.test(kind) || !HEX.test(hash)) throw bad(`gives ${name} an invalid fingerprint component`);
      return { kind, hash: hash.toLowerCase() };
    });
    if (components.length === 0) throw bad(`gives ${name} no fingerprint`);
    return { name, minMatches, components };
  });
  if (covered.length === 0) throw bad('covers no server');
  const seen = new Set<string>();
  for (const c of covered) {
    if (seen.has(c.name.toLowerCase())) throw bad(`lists ${c.name} twice`);
    seen.add(c.name.toLowerCase());
  }
  return {
    formatVersion: GRANT_FORMAT_VERSION,
    licenseId,
    responseId,
    requestId,
    requestSha256: requestSha256.toLowerCase(),
    nonce,
    issuedAt,
    notBefore,
    notAfter,
    sequence,
    customer: { customerNumber: attr(customer, 'customerNumber') ?? '', installationNumber: attr(customer, 'installationNumber') ?? '', systemId: attr(customer, 'systemId') ?? '' },
    farmName: attr(farm, 'name') ?? '',
    covered,
    modules: children(child(root, 'Entitlements'), 'Module').map((m) => ({ id: attr(m, 'id') ?? '', users: attr(m, 'users') === undefined ? undefined : Number(attr(m, 'users')) })),
  };
}
