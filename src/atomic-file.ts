// Writing a file the user will keep: a temp name in the same folder, renamed into place when
// complete, so an interrupted write never leaves half a file; an existing file is replaced only
// when asked, and then kept as `<file>.bak` first.
import { copyFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';

export interface AtomicWriteOptions {
  /** Replace an existing file (kept as .bak); without it an existing file is an error. */
  replace?: boolean;
  mode?: number;
  /** The flag that allows replacing, named in the error. */
  replaceFlag?: string;
}

export async function writeFileAtomic(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<{ backup?: string }> {
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists && !opts.replace)
    throw new ConfigError(`${file} already exists`, {
      code: 'OUTPUT_EXISTS',
      hint: `choose another file${opts.replaceFlag ? `, or pass ${opts.replaceFlag} to replace it (the old one is kept as .bak)` : ''}`,
    });
  await mkdir(dirname(file), { recursive: true });
  let backup: string | undefined;
  if (exists) {
    backup = `${file}.bak`;
    await copyFile(file, backup);
  }
  const temp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await writeFile(temp, data, { mode: opts.mode ?? 0o600, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  return { backup };
}
