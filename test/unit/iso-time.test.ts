import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoString, receiptIsoString } from '../../functions/core/iso-time';

/** The range of a Date (TimeClip): ±8.64e15 ms. */
const MAX_TIME = 8.64e15;

describe('isoString', () => {
  it('writes what Date#toISOString writes, for every time a Date holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_TIME, max: MAX_TIME }), (ms) => {
        expect(isoString(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000, seed: 20261207 },
    );
  });

  it('writes four-digit years and their edges as toISOString does', () => {
    const edges = [
      0,
      -1,
      Date.UTC(1970, 0, 1, 0, 0, 0, 1),
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1, // +010000-01-01
      -62_167_219_200_000, // 0000-01-01
      -62_167_219_200_001, // -000001-12-31
      1.5, // fractions of a millisecond are cut
      MAX_TIME,
      -MAX_TIME,
    ];
    for (const ms of edges) expect(isoString(ms)).toBe(new Date(ms).toISOString());
    expect(isoString(Date.UTC(2026, 11, 7, 9, 5, 3, 7))).toBe('2026-12-07T09:05:03.007Z');
  });

  it('refuses what toISOString refuses (an invalid time)', () => {
    expect(() => isoString(Number.NaN)).toThrow(RangeError);
    expect(() => isoString(MAX_TIME + 1)).toThrow(RangeError);
  });
});

describe('receiptIsoString', () => {
  it('writes what toISOString writes, whatever the order of the readings', () => {
    // Runs of readings within one second and across seconds, forwards and backwards, and
    // jumps anywhere in the Date range (six-digit and negative years).
    const reading = fc.oneof(
      fc.integer({ min: 1_796_666_790_000, max: 1_796_666_793_000 }),
      fc.integer({ min: -MAX_TIME, max: MAX_TIME }),
      fc.constantFrom(0, -1, -999, -1000, -1001, 999, 1000, 253_402_300_799_999, 253_402_300_800_000, MAX_TIME, -MAX_TIME),
    );
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 50 }), (readings) => {
        for (const ms of readings) expect(receiptIsoString(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 1000, seed: 20261207 },
    );
  });

  it('cuts fractions of a millisecond as a Date does, and refuses an invalid time', () => {
    for (const ms of [1.5, -1.5, 1_796_666_791_593.9, -0.5]) expect(receiptIsoString(ms)).toBe(new Date(ms).toISOString());
    expect(() => receiptIsoString(Number.NaN)).toThrow(RangeError);
    expect(receiptIsoString(MAX_TIME)).toBe(new Date(MAX_TIME).toISOString());
    // Past the range within the second just written: refused all the same.
    expect(() => receiptIsoString(MAX_TIME + 1)).toThrow(RangeError);
    expect(() => receiptIsoString(MAX_TIME + 1000)).toThrow(RangeError);
  });
});
