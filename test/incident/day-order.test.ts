import { describe, expect, it } from 'vitest';
import { guessDayFirst } from '../../src/incident/day-order.js';
import { scanTracerErrors } from '../../src/incident/tracer-errors.js';

describe('guessDayFirst', () => {
  const log = '03/06/2025 10:15:00,000 ERROR IntegrationManager: import failed for user \'jdoe\'\n';

  it('reads 03/06 as 3 June when the file was last written in June', () => {
    expect(guessDayFirst(log, Date.parse('2025-06-03T12:00:00Z'))).toBe(true);
  });

  it('reads 03/06 as 6 March when the file was last written in March', () => {
    expect(guessDayFirst(log, Date.parse('2025-03-06T12:00:00Z'))).toBe(false);
  });

  it('leaves unambiguous or non-slash dates to the detector', () => {
    expect(guessDayFirst('13/06/2025 10:00:00 x\n', Date.now())).toBeUndefined();
    expect(guessDayFirst('06/06/2025 10:00:00 x\n', Date.now())).toBeUndefined();
    expect(guessDayFirst('2025-06-03 10:00:00 x\n', Date.now())).toBeUndefined();
  });

  it('makes the scan count an early-month d/m/y log in the right window', async () => {
    const window = { fromMs: Date.parse('2025-06-03T08:00:00Z'), toMs: Date.parse('2025-06-03T12:00:00Z') };
    const guessed = await scanTracerErrors([Buffer.from(log)], { ...window, dayFirst: guessDayFirst(log, Date.parse('2025-06-03T12:00:00Z')) });
    expect(guessed.errorLines).toBe(1);
    expect([...guessed.users.keys()]).toEqual(['jdoe']);
    const assumed = await scanTracerErrors([Buffer.from(log)], window); // month-first default: 6 March
    expect(assumed.errorLines).toBe(0);
  });
});
