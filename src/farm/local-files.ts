// What `farm validate` can check without connecting: the files on this machine that the farm file
// names for SSH (private keys, known_hosts). A missing key file found here saves a failed
// connection later (trusted license keys are checked by the license module the same way).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { homedir } from 'node:os';
import type { Farm } from './load.js';
import { resolveLocalPath } from './load.js';
import { expandHome } from './transports/index.js';

export interface LocalFileProblem {
  /** Where in the farm file, e.g. servers[1].transport.identityFile */
  path: string;
  file: string;
  message: string;
}

async function readable(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return 'is not a file';
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
  }
}

/** Key files and known_hosts of ssh servers: present, files, and parseable as what they claim. */
export async function checkSshFiles(farm: Farm): Promise<LocalFileProblem[]> {
  const problems: LocalFileProblem[] = [];
  for (const [i, s] of farm.servers.entries()) {
    const t = s.transport;
    if (t.type !== 'ssh') continue;
    if (t.identityFile) {
      const file = resolveLocalPath(farm, expandHome(t.identityFile));
      const why = await readable(file);
      if (why) problems.push({ path: `servers[${i}].transport.identityFile`, file, message: why });
      else {
        const ssh2 = await import('ssh2');
        const utils = ssh2.utils ?? (ssh2 as unknown as { default: typeof ssh2 }).default.utils;
        const parsed = utils.parseKey(await readFile(file));
        if (parsed instanceof Error && !/passphrase/i.test(parsed.message))
          problems.push({ path: `servers[${i}].transport.identityFile`, file, message: `is not a private key ssh can use (${parsed.message})` });
      }
    } else if (!t.agent && !process.env.SSH_AUTH_SOCK) {
      problems.push({ path: `servers[${i}].transport`, file: '', message: 'has no identityFile and no SSH agent is running (SSH_AUTH_SOCK is not set)' });
    }
    const known = t.knownHosts ? resolveLocalPath(farm, expandHome(t.knownHosts)) : join(homedir(), '.ssh', 'known_hosts');
    const why = await readable(known);
    if (why) problems.push({ path: `servers[${i}].transport.knownHosts`, file: known, message: `${why} (the server's host key must be listed there)` });
  }
  return problems;
}
