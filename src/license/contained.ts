// Before a license operation touches a server: every path it will read or write (the license, its
// folder, the lock beside it, a backup) must resolve inside the server's root and, where something
// is there, be a regular file (a folder for the folder). A symbolic link that leads out, or a FIFO
// named License.xml, refuses the whole operation before anything is written anywhere.
import type { Transport } from '../farm/transports/transport.js';
import { TransportError } from '../farm/transports/transport.js';
import { serverDirname } from '../farm/paths.js';
import { LicenseError } from './errors.js';

export interface PathsOnServer {
  server: string;
  transport: Transport;
  /** Files read or written (license, lock, backup). */
  files: readonly string[];
}

export async function refuseUnsafeLicensePaths(targets: readonly PathsOnServer[]): Promise<void> {
  const outside: string[] = [];
  const notFile: string[] = [];
  for (const x of targets) {
    const t = x.transport;
    const dirs = [...new Set(x.files.map((f) => serverDirname(t.platform, f)))];
    for (const [path, want] of [...dirs.map((d) => [d, 'dir'] as const), ...x.files.map((f) => [f, 'file'] as const)]) {
      try {
        const r = await t.resolve(path);
        if (r.type !== 'missing' && r.type !== want) notFile.push(`${x.server}: ${path} is not a regular ${want === 'dir' ? 'folder' : 'file'}`);
      } catch (err) {
        if (err instanceof TransportError && err.reason === 'outside-root') outside.push(`${x.server}: ${path}`);
        else if (err instanceof TransportError && err.reason === 'not-a-file') notFile.push(`${x.server}: ${path}`);
        else throw err;
      }
    }
  }
  if (outside.length)
    throw new LicenseError(
      'LICENSE_OUTSIDE_ROOT',
      `${outside.join('; ')}: a symbolic link leads outside the server's root; nothing was read or written`,
      "license files are only read and written inside each server's root: replace the link by the real folder or file on the server (or point license.path at it)",
      { servers: [...new Set(outside.map((s) => s.split(':')[0]!))] },
    );
  if (notFile.length)
    throw new LicenseError(
      'LICENSE_NOT_A_FILE',
      `${notFile.join('; ')} (a FIFO, device, socket or folder where a file belongs); nothing was read or written`,
      'remove what sits at that path on the server, or point license.path at the real license file',
      { servers: [...new Set(notFile.map((s) => s.split(':')[0]!))] },
    );
}
