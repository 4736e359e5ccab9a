// What the Node tests share: bounded waits, reading bars from the server, aggregating them.
import assert from "node:assert/strict";

const MINUTE_MS = 60_000;

/** `promise`, or a rejection saying what was awaited once `ms` have passed. */
export function within(ms, what, promise) {
  let timer;
  const late = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A TradingView-style call `fn(onResult, onError)` as a promise, bounded by `ms`. */
export function call(fn, what, ms = 10_000) {
  return within(ms, what, new Promise((resolve, reject) => fn(resolve, reject)));
}

/** Resolves at the wall-clock time `atMs` (a bar boundary is a moment, not an event anyone sends). */
export function until(atMs) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())));
}

/** `/api/v1/datafeed/bars` of the server at `baseUrl`: bars with time in [fromMs, toMs), times in ms. */
export async function servedBars(baseUrl, symbol, resolution, fromMs, toMs) {
  const url = new URL("/api/v1/datafeed/bars", baseUrl);
  url.search = new URLSearchParams({
    symbol,
    resolution,
    from_time: String(Math.floor(fromMs / 1000)),
    to_time: String(Math.ceil(toMs / 1000)),
  }).toString();
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).bars;
}

/** One bar from consecutive bars as the contract aggregates them: first open, max high, min low, last close, summed volume. */
export function aggregate(bars) {
  assert.ok(bars.length > 0, "nothing to aggregate");
  return {
    time: bars[0].time,
    open: bars[0].open,
    high: Math.max(...bars.map((bar) => bar.high)),
    low: Math.min(...bars.map((bar) => bar.low)),
    close: bars[bars.length - 1].close,
    // Volumes with decimals (crypto) add up with binary rounding errors; the server sums the same decimals.
    volume: Math.round(bars.reduce((sum, bar) => sum + bar.volume, 0) * 1e8) / 1e8,
  };
}

/**
 * Check a forming bar of `periodMs` against the 1-minute bars of its period, which are read before and after
 * it formed: same start and open, and high, low and volume between the two readings (they only grow outward
 * as the period goes on). Comparing with the same function the server serves the forming bar with would
 * prove nothing. False when the period ended meanwhile (the caller tries again).
 *
 * @param {(afterMs: number) => Promise<object>} nextLiveBar the first live bar the client receives after `afterMs`
 */
export async function assertFormingBarFollowsMinutes(baseUrl, symbol, periodMs, nextLiveBar) {
  const now = Date.now();
  const start = now - (now % periodMs);
  const before = aggregate(await servedBars(baseUrl, symbol, "1", start, start + periodMs));
  // The server counts whole seconds: a bar received a second after the first reading formed after it.
  const live = await nextLiveBar(Date.now() + 1000);
  const after = aggregate(await servedBars(baseUrl, symbol, "1", start, start + periodMs));
  if (live.time !== start) return false;
  const context = JSON.stringify({ before, live, after });
  assert.equal(live.open, before.open, context);
  assert.ok(before.high <= live.high && live.high <= after.high, `high out of range: ${context}`);
  assert.ok(before.low >= live.low && live.low >= after.low, `low out of range: ${context}`);
  const volume = Math.round(live.volume * 1e8) / 1e8;
  assert.ok(before.volume <= volume && volume <= after.volume, `volume out of range: ${context}`);
  return true;
}

/** Start of the minute that contains `ms`. */
export function minuteOf(ms) {
  return ms - (ms % MINUTE_MS);
}
