// Errors the bundle writer reports to its callers (collectors decide from them whether to go on).
import { FailedError } from '../errors.js';
import type { ManifestEntry } from './manifest.js';

/** The bundle cap is reached. `entry` is the entry that was cut at the cap, if any. */
export class BundleFullError extends FailedError {
  constructor(
    message: string,
    readonly entry?: ManifestEntry,
  ) {
    super(message, { code: 'BUNDLE_FULL', hint: 'narrow the window (--from/--to, --span) or raise the bundle cap' });
  }
}

/** Not enough free space on the output volume. Fatal for the bundle. */
export class DiskSpaceError extends FailedError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'DISK_SPACE', hint: 'free space on the output volume or write the bundle elsewhere (--out DIR)', cause });
  }
}

/** The source of one entry failed or timed out; the entry is kept, truncated, and the bundle is still valid. */
export class EntrySourceError extends FailedError {
  constructor(
    message: string,
    readonly entry: ManifestEntry,
    cause?: unknown,
  ) {
    super(message, { code: 'ENTRY_SOURCE', cause });
  }
}
