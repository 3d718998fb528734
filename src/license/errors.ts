// Every way a license operation can be refused has its own stable code and a fix.
import { ConfigError, FailedError, UsageError, type ErrorDetails } from '../errors.js';

export type LicenseErrorCode =
  | 'LICENSE_TOO_LARGE'
  | 'LICENSE_MALFORMED'
  | 'LICENSE_ENVELOPE_NOT_CANONICAL'
  | 'LICENSE_NOT_A_FILE'
  | 'LICENSE_DTD_FORBIDDEN'
  | 'LICENSE_FORMAT_UNSUPPORTED'
  | 'LICENSE_SIGNATURE_INVALID'
  | 'LICENSE_KEY_UNTRUSTED'
  | 'LICENSE_WRONG_FARM'
  | 'LICENSE_REQUEST_UNKNOWN'
  | 'LICENSE_NOT_YET_VALID'
  | 'LICENSE_EXPIRED'
  | 'LICENSE_SERVER_NOT_COVERED'
  | 'LICENSE_SERVER_UNREACHABLE'
  | 'LICENSE_FINGERPRINT_MISMATCH'
  | 'LICENSE_NO_ADMIN_RIGHTS'
  | 'LICENSE_DOWNGRADE'
  | 'LICENSE_LOCKED'
  | 'LICENSE_INSTALL_FAILED_ROLLED_BACK'
  | 'LICENSE_ROLLBACK_INCOMPLETE'
  | 'LICENSE_ROLLBACK_CURRENT_CHANGED'
  | 'LICENSE_REQUEST_INCOMPLETE'
  | 'LICENSE_NO_BACKUP'
  | 'LICENSE_NOT_CONFIGURED'
  | 'LICENSE_FILE_UNREADABLE'
  | 'LICENSE_OUTSIDE_ROOT'
  | 'LICENSE_NOT_A_FILE';

/** A refused license, response or request: exit 1. */
export class LicenseError extends FailedError {
  constructor(
    code: LicenseErrorCode,
    message: string,
    hint: string,
    details: Omit<ErrorDetails, 'code' | 'hint'> & { servers?: string[] } = {},
  ) {
    super(message, { ...details, code, hint });
    this.servers = details.servers;
  }
  readonly servers?: string[];
}

/** The farm file cannot serve licensing (no trusted keys, no license path): exit 2. */
export function licenseConfigError(message: string, hint: string): ConfigError {
  return new ConfigError(message, { code: 'LICENSE_NOT_CONFIGURED', hint });
}

export function licenseUsageError(message: string, hint: string): UsageError {
  return new UsageError(message, { code: 'USAGE', hint });
}
