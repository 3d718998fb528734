// Content that is already compressed is stored, not deflated a second time.
import { extname } from 'node:path';

const COMPRESSED_EXTENSIONS = new Set([
  '.zip', '.gz', '.tgz', '.bz2', '.xz', '.zst', '.7z', '.rar', '.cab', '.lz4', '.lzma',
  '.png', '.jpg', '.jpeg', '.gif', '.webp', '.mp4', '.mkv', '.mp3',
  '.docx', '.xlsx', '.pptx', '.jar', '.nupkg', '.msi', '.pdf', '.dmp.gz',
]);

/** Already compressed content, by extension or by its first bytes. */
export function isAlreadyCompressed(path: string, head?: Buffer): boolean {
  if (COMPRESSED_EXTENSIONS.has(extname(path).toLowerCase())) return true;
  if (!head || head.length < 4) return false;
  const b = head;
  if (b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5 || b[2] === 7)) return true; // zip family
  if (b[0] === 0x1f && b[1] === 0x8b) return true; // gzip
  if (b[0] === 0x37 && b[1] === 0x7a && b[2] === 0xbc && b[3] === 0xaf) return true; // 7z
  if (b[0] === 0x4d && b[1] === 0x53 && b[2] === 0x43 && b[3] === 0x46) return true; // cab "MSCF"
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) return true; // xz
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return true; // zstd
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return true; // bzip2
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return true; // png
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true; // jpeg
  if (b[0] === 0x52 && b[1] === 0x61 && b[2] === 0x72 && b[3] === 0x21) return true; // rar
  return false;
}
