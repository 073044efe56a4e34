import { describe, expect, it } from 'vitest';
import { epochMs, toIso, versionAt, versionOf } from '../../functions/sources/common';

describe('provider times', () => {
  it('reads epoch seconds, epoch milliseconds (numbers or decimal strings) and ISO 8601', () => {
    expect(epochMs(1765122900)).toBe(1765122900000);
    expect(epochMs(1765122900.5)).toBe(1765122900500);
    expect(epochMs(1765122900123)).toBe(1765122900123);
    expect(epochMs('1765122900')).toBe(1765122900000);
    expect(epochMs(' 1765122900123 ')).toBe(1765122900123);
    expect(epochMs('2026-12-07T15:55:00.123Z')).toBe(Date.UTC(2026, 11, 7, 15, 55, 0, 123));
    expect(epochMs('2026-12-07T10:55:00-05:00')).toBe(Date.UTC(2026, 11, 7, 15, 55, 0));
    expect(epochMs(-5)).toBe(-5000);
  });

  it('has no time for what a Date cannot hold or what is not a time', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1, 'yesterday', '', 'x'.repeat(65), null, undefined, {}, true]) {
      expect(epochMs(v)).toBeUndefined();
      expect(toIso(v)).toBeUndefined();
      expect(versionOf(v, 'evt_1')).toBeUndefined();
    }
  });

  it('writes the occurrence and the version of one time read once, as toIso and versionOf do', () => {
    for (const v of [1765122900, '1765122900123', '2026-12-07T15:55:00.123Z', '2026-12-07T10:55:00+05:30']) {
      const ms = epochMs(v);
      expect(versionAt(ms, 'evt_1')).toBe(versionOf(v, 'evt_1'));
      expect(toIso(v)).toBe(new Date(ms as number).toISOString());
    }
    // Before 1970 a time has an occurrence but no version (versions are non-negative).
    expect(toIso(-5)).toBe('1969-12-31T23:59:55.000Z');
    expect(versionOf(-5, 'evt_1')).toBeUndefined();
  });
});
