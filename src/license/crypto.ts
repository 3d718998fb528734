// Ed25519 signatures over domain-separated bytes, and the farm's trusted keys.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Farm } from '../farm/load.js';
import { resolveLocalPath } from '../farm/load.js';
import { licenseConfigError } from './errors.js';

/** Prefixed to the payload before signing, so a signature made for anything else never verifies here. */
export const RESPONSE_SIGNING_DOMAIN = 'clk-support/license-response/v1\n';

export function signingInput(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(RESPONSE_SIGNING_DOMAIN, 'utf8'), payload]);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface TrustedKey {
  id: string;
  key: KeyObject;
  file: string;
}

/** The public keys the farm file trusts, loaded and checked to be Ed25519. */
export async function loadTrustedKeys(farm: Farm): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const k of farm.license.trustedKeys) keys.push(await loadTrustedKey(farm, k));
  return keys;
}

/** One trusted key: readable, a PEM public key, Ed25519 (a ConfigError saying which otherwise). */
export async function loadTrustedKey(farm: Farm, k: { id: string; publicKeyFile: string }): Promise<TrustedKey> {
  const file = resolveLocalPath(farm, k.publicKeyFile);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw licenseConfigError(`Trusted key "${k.id}": cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, 'fix license.trustedKeys[].publicKeyFile in the farm file (a path relative to the farm file)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw licenseConfigError(`Trusted key "${k.id}": ${file} is not a PEM public key (${(err as Error).message})`, 'the file must hold an Ed25519 public key in PEM (SPKI) form: -----BEGIN PUBLIC KEY-----');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw licenseConfigError(`Trusted key "${k.id}": ${file} is a ${key.asymmetricKeyType} key, not Ed25519`, 'license responses are signed with Ed25519; ask for the Ed25519 public key');
  return { id: k.id, key, file };
}

export function verifySignature(payload: Buffer, signature: Buffer, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, signingInput(payload), key, signature);
  } catch {
    return false;
  }
}
