// The zip format's fixed numbers (PKWARE APPNOTE 4.3), shared by the bundle's writer (zip.ts) and
// the bounded reader that verify uses (zip-read.ts).
export const SIG_LOCAL = 0x04034b50;
export const SIG_DESCRIPTOR = 0x08074b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_EOCD64_LOCATOR = 0x07064b50;
export const MAX32 = 0xffffffff;
export const MAX16 = 0xffff;
