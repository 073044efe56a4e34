/**
 * `new Date(ms).toISOString()`, written from the date's UTC fields.
 *
 * The receiver writes these for date attributes (Clerk's sign-up and sign-in times, for
 * instance) and, once per second, for the time of receipt (receiptIsoString). On Node 24,
 * Lambda's runtime, Date#toISOString costs about 430 ns a call and this about 200 ns (a loop of
 * each alone); figure 1 (`npm run bench -- --only hot-path`) needs the difference to stay near
 * 3x the HMAC + JSON.parse floor. Years outside 0000-9999, where toISOString writes a sign and
 * six digits, and invalid times (RangeError) are left to toISOString itself.
 */
export function isoString(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) return d.toISOString();
  return (
    `${String(year).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}` +
    `T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}Z`
  );
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The range of a Date (TimeClip). */
const MAX_DATE_MS = 8.64e15;

/** The second receiptIsoString last wrote, and its text up to the milliseconds (`YYYY-MM-DDTHH:mm:ss.`). */
let receiptSecond = Number.NaN;
let receiptPrefix = '';

/**
 * isoString of the receiver's clock, whose successive readings mostly fall in the same second:
 * the date and time to the second are written once per second (one entry, replaced when the
 * second changes, in either direction), then the milliseconds are appended. For the time of
 * receipt only: the provider times of a webhook (dates of years ago) would replace the entry at
 * every call. In figure 1 (`npm run bench -- --only hot-path`; in-process A/B on Node 24.21),
 * writing the receipt time whole for every webhook cost 6-7 % of a Standard Webhooks webhook's
 * receiver CPU, and this about 2 %.
 */
export function receiptIsoString(ms: number): string {
  const time = Math.trunc(ms); // as a Date keeps it (TimeClip)
  if (!(Math.abs(time) <= MAX_DATE_MS)) return isoString(time); // NaN or out of range: RangeError
  const second = Math.floor(time / 1000);
  if (second !== receiptSecond) {
    // toISOString's text always ends in `.mmmZ` (a six-digit year included).
    receiptPrefix = isoString(second * 1000).slice(0, -4);
    receiptSecond = second;
  }
  const milli = time - second * 1000;
  return `${receiptPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
