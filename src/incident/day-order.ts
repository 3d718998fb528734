// "03/06/2025" is 3 June or 6 March. The timestamp detector learns the order from the first date
// whose day is above 12, but until then it assumes month-first, and a log of the first twelve days
// of a month never tells. The file's modification time does: a log is written before it was last
// modified, so the reading that puts the first line closest before that time wins.
const SLASH_DATE = /^[\s[(<"]{0,3}(\d{1,2})\/(\d{1,2})\/(\d{4})[ T](\d{1,2}):(\d{2}):(\d{2})/;

/** true (day first), false (month first), or undefined when the head of the file does not need a guess. */
export function guessDayFirst(head: Buffer | string, mtimeMs: number, utcOffsetMinutes = 0): boolean | undefined {
  const text = typeof head === 'string' ? head : head.toString('utf8');
  for (const line of text.split('\n', 200)) {
    const m = SLASH_DATE.exec(line);
    if (!m) continue;
    const [a, b, y, h, mi, s] = m.slice(1, 7).map(Number);
    if (a > 12 || b > 12 || a === b) return undefined; // unambiguous (the detector learns it) or the same either way
    const at = (d: number, mo: number) => Date.UTC(y, mo - 1, d, h, mi, s) - utcOffsetMinutes * 60_000;
    const dayFirst = at(a, b);
    const monthFirst = at(b, a);
    // Allow a little clock skew between the log's stamps and the file system's mtime.
    const slack = 86_400_000;
    const fits = (t: number) => t <= mtimeMs + slack;
    if (fits(dayFirst) && !fits(monthFirst)) return true;
    if (fits(monthFirst) && !fits(dayFirst)) return false;
    if (!fits(dayFirst) && !fits(monthFirst)) return undefined;
    return mtimeMs - dayFirst < mtimeMs - monthFirst; // both before: the closer one
  }
  return undefined;
}
