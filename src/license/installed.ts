// Reading the license installed on a server and verifying it again: the installed file is the
// signed response envelope, so any machine with the farm's trusted keys can check it.
import type { Transport } from '../farm/transports/transport.js';
import { TransportError } from '../farm/transports/transport.js';
import { ClkError, errorMessage } from '../errors.js';
import { sha256Hex, verifySignature, type TrustedKey } from './crypto.js';
import { parseEnvelope, parseGrant, type LicenseGrant } from './formats.js';
import { MAX_LICENSE_BYTES } from './xml.js';

export interface InstalledLicense {
  present: boolean;
  bytes?: Buffer;
  sha256?: string;
  keyId?: string;
  signatureValid?: boolean;
  grant?: LicenseGrant;
  /** Why the file could not be read or trusted. */
  problem?: string;
}

export type VerifiedEnvelope = { grant: LicenseGrant; keyId: string };

/** Verify a response/installed envelope: key trusted, signature valid, then (only then) parse the grant. */
export function verifyEnvelopeBytes(bytes: Buffer, keys: readonly TrustedKey[], what: string): VerifiedEnvelope & { signatureValid: true } {
  const env = parseEnvelope(bytes, what);
  const key = keys.find((k) => k.id === env.keyId);
  if (!key) throw new UntrustedKeyError(env.keyId, keys);
  if (env.alg !== 'Ed25519' || !verifySignature(env.payload, env.signature, key.key)) throw new BadSignatureError(env.keyId, env.alg);
  return { grant: parseGrant(env.payload, what), keyId: env.keyId, signatureValid: true };
}

export class UntrustedKeyError extends Error {
  constructor(
    readonly keyId: string,
    readonly keys: readonly TrustedKey[],
  ) {
    super(`signed with key "${keyId}", which this farm does not trust`);
  }
}
export class BadSignatureError extends Error {
  constructor(
    readonly keyId: string,
    readonly alg: string,
  ) {
    super(alg !== 'Ed25519' ? `signature algorithm "${alg}" is not Ed25519` : `the signature does not verify with key "${keyId}"`);
  }
}

export async function readInstalledLicense(t: Transport, licensePath: string, keys: readonly TrustedKey[]): Promise<InstalledLicense> {
  let bytes: Buffer;
  try {
    bytes = await t.readFile(licensePath, { maxBytes: MAX_LICENSE_BYTES });
  } catch (err) {
    if (err instanceof TransportError && err.reason === 'not-found') return { present: false };
    return { present: true, problem: `cannot read ${licensePath}: ${errorMessage(err)}` };
  }
  const out: InstalledLicense = { present: true, bytes, sha256: sha256Hex(bytes) };
  try {
    const v = verifyEnvelopeBytes(bytes, keys, licensePath);
    out.keyId = v.keyId;
    out.signatureValid = true;
    out.grant = v.grant;
  } catch (err) {
    if (err instanceof BadSignatureError) {
      out.keyId = err.keyId;
      out.signatureValid = false;
      out.problem = `installed license: ${err.message} (altered after signing?)`;
    } else if (err instanceof UntrustedKeyError) {
      out.keyId = err.keyId;
      out.problem = `installed license: ${err.message}`;
    } else if (err instanceof ClkError) {
      out.problem = `installed license is not readable: ${err.message}`;
    } else throw err;
  }
  return out;
}
