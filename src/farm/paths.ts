// Server paths are written the way the server writes them (C:\ClickSoftware\Logs on Windows,
// /opt/clk/logs on Linux). These helpers work on them without touching this machine's own path rules.
import path from 'node:path';
import type { Platform } from './transports/transport.js';

export function pathApi(platform: Platform): path.PlatformPath {
  return platform === 'windows' ? path.win32 : path.posix;
}

export function joinServerPath(platform: Platform, ...parts: string[]): string {
  return pathApi(platform).join(...parts);
}

export function serverBasename(platform: Platform, p: string): string {
  return pathApi(platform).basename(p);
}

export function serverDirname(platform: Platform, p: string): string {
  return pathApi(platform).dirname(p);
}

export interface DrivePath {
  /** Upper-case drive letter, or '' for a path with none (POSIX, or \Windows\...). */
  drive: string;
  /** The path below the drive root, as segments; never contains '..'. */
  segments: string[];
}

/**
 * Split a server path into its drive and segments, refusing any path that climbs above its root
 * (a '..' that survives normalisation): farm files and responses must not reach outside a share.
 */
export function splitServerPath(platform: Platform, p: string): DrivePath {
  let rest = p;
  let drive = '';
  // [\s\S]: a name may hold a newline, and must not lose its drive because of it.
  const m = /^([A-Za-z]):([\s\S]*)$/.exec(p);
  if (m) {
    drive = m[1].toUpperCase();
    rest = m[2];
  }
  const sep = platform === 'windows' ? /[\\/]+/ : /\/+/;
  const segments: string[] = [];
  for (const seg of rest.split(sep)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segments.length === 0) throw new PathEscapeError(p);
      segments.pop();
      continue;
    }
    segments.push(seg);
  }
  return { drive, segments };
}

export class PathEscapeError extends Error {
  constructor(readonly path: string) {
    super(`path climbs above its root: ${path}`);
    this.name = 'PathEscapeError';
  }
}

/** Whether a file name is safe to use as one path segment (no separators, no '..'). */
export function isSafeSegment(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[\\/:\0]/.test(name);
}

/** A Windows path as Windows OpenSSH's SFTP server wants it: /C:/dir/file. */
export function toSftpPath(platform: Platform, p: string): string {
  if (platform !== 'windows') return p;
  const { drive, segments } = splitServerPath(platform, p);
  return drive ? `/${drive}:/${segments.join('/')}` : `/${segments.join('/')}`;
}
