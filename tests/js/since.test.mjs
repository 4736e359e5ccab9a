// Subscriptions that start where history ends (`since`), and the requests TradingView gives no error callback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Datafeed, DatafeedError, ErrorCode, Status } from "../../static/js/datafeed.js";
import { startServer } from "./server.mjs";
import { call, minuteOf, servedBars, until, within } from "./support.mjs";

const MINUTE_MS = 60_000;
const ENV = { BAR_BROADCASTER_INTERVAL: "0.05", LOG_LEVEL: "WARNING" };
const BTC = { name: "BTCUSD", ticker: "BTCUSD" };

/** A listener's ticks as they come; `until(predicate, what)` resolves with the ticks so far once one matches. */
function listen(datafeed, info, resolution, guid, onReset) {
  const ticks = [];
  const waiting = new Set();
  datafeed.subscribeBars(info, resolution, (bar) => {
    ticks.push(bar);
    for (const waiter of [...waiting]) {
      if (!waiter.predicate(bar)) continue;
      waiting.delete(waiter);
      waiter.resolve([...ticks]);
    }
  }, guid, onReset);
  return {
    ticks,
    until: (predicate, what, ms = 20_000) => within(ms, what, new Promise((resolve) => waiting.add({ predicate, resolve }))),
  };
}

/**
 * BTCUSD 1-minute history loaded 2 s before a minute boundary (at least 5 s away), then the boundary passed:
 * `{boundary, partial}`, the newest bar of history being the minute that has closed since, with its values
 * as they were.
 */
async function historyAcrossABoundary(datafeed) {
  const boundary = minuteOf(Date.now() + 5_000) + MINUTE_MS;
  await until(boundary - 2_000);
  const periodParams = { from: (boundary - 10 * MINUTE_MS) / 1000, to: boundary / 1000, countBack: 5, firstDataRequest: true };
  const history = await call((resolve, reject) => datafeed.getBars(BTC, "1", periodParams, resolve, reject), "getBars");
  const partial = history[history.length - 1];
  assert.equal(partial.time, boundary - MINUTE_MS, "the newest bar of history is still forming");
  await until(boundary + 1_000);
  return { boundary, partial };
}

test("a bar that closes between getBars and subscribeBars reaches the listener with its final values", { timeout: 120_000 }, async () => {
  const server = await startServer(ENV);
  const datafeed = new Datafeed({ baseUrl: server.baseUrl });
  try {
    const { boundary, partial } = await historyAcrossABoundary(datafeed);

    const listener = listen(datafeed, BTC, "1", "across");
    const ticks = await listener.until((bar) => bar.time >= boundary, "an update of the new minute");
    const [final] = await servedBars(server.baseUrl, "BTCUSD", "1", boundary - MINUTE_MS, boundary);
    assert.notDeepEqual(final, partial, "the bar went on trading after history was loaded");
    assert.deepEqual(ticks[0], final, "the first tick is that bar, final");
    assert.deepEqual(ticks.map((bar) => bar.time).slice(0, 2), [boundary - MINUTE_MS, boundary]);
  } finally {
    datafeed.close();
    await server.stop();
  }
});

test("a second listener of a followed topic also gets the bar that closed since its history", { timeout: 120_000 }, async () => {
  const server = await startServer(ENV);
  const datafeed = new Datafeed({ baseUrl: server.baseUrl });
  try {
    const first = listen(datafeed, BTC, "1", "first");
    await first.until(() => true, "the first listener's first update");
    const { boundary } = await historyAcrossABoundary(datafeed);

    const second = listen(datafeed, BTC, "1", "second");
    const ticks = await second.until((bar) => bar.time >= boundary, "the second listener's update of the new minute");
    const [final] = await servedBars(server.baseUrl, "BTCUSD", "1", boundary - MINUTE_MS, boundary);
    assert.deepEqual(ticks[0], final, "the second listener's first tick is that bar, final");
    const firstTimes = first.ticks.map((bar) => bar.time);
    assert.deepEqual(firstTimes, [...firstTimes].sort((a, b) => a - b), "the first listener never goes back in time");
    assert.deepEqual(first.ticks.filter((bar) => bar.time === final.time).at(-1), final);
  } finally {
    datafeed.close();
    await server.stop();
  }
});

test("a since too far back for a replay resets the listener's cache and follows the topic from now", { timeout: 60_000 }, async () => {
  const server = await startServer(ENV);
  const datafeed = new Datafeed({ baseUrl: server.baseUrl });
  try {
    // History of two days ago: its newest bar is about 2,880 minutes back, beyond the 1,000 the server replays.
    const to = Date.now() / 1000 - 2 * 86_400;
    const periodParams = { from: to - 3600, to, countBack: 0, firstDataRequest: true };
    const history = await call((resolve, reject) => datafeed.getBars(BTC, "1", periodParams, resolve, reject), "getBars");
    assert.ok(history.length > 0);
    let resets = 0;
    const listener = listen(datafeed, BTC, "1", "old", () => (resets += 1));
    const startedAt = minuteOf(Date.now());
    const [first] = await listener.until(() => true, "a live update after the refusal");
    assert.equal(resets, 1, "the chart is told to reload its history");
    assert.ok(first.time >= startedAt, `the stream starts now, not at ${new Date(first.time).toISOString()}`);
  } finally {
    datafeed.close();
    await server.stop();
  }
});

test("onReady and getServerTime retry until the server answers and report the failure through onStatus", { timeout: 120_000 }, async () => {
  // A port where nothing listens yet: the server's own, just after it stopped.
  let server = await startServer(ENV);
  await server.stop();
  const reports = [];
  let failed;
  const failure = new Promise((resolve) => (failed = resolve));
  const datafeed = new Datafeed({
    baseUrl: server.baseUrl,
    maxBackoffMs: 500,
    onStatus: (status, error) => {
      reports.push({ status, error });
      if (error) failed();
    },
  });
  try {
    const config = new Promise((resolve) => datafeed.onReady(resolve));
    const serverTime = new Promise((resolve) => datafeed.getServerTime(resolve));
    await within(20_000, "a failure reported through onStatus", failure);
    const [report] = reports;
    assert.equal(report.status, Status.OFFLINE);
    assert.ok(report.error instanceof DatafeedError);
    assert.equal(report.error.code, ErrorCode.NETWORK);

    server = await startServer(ENV, { port: server.port });
    const before = Math.floor(Date.now() / 1000);
    assert.equal((await within(30_000, "onReady after the server is back", config)).supports_time, true);
    const seconds = await within(30_000, "getServerTime after the server is back", serverTime);
    assert.ok(Number.isInteger(seconds) && seconds >= before - 5 && seconds <= Date.now() / 1000 + 5, String(seconds));
  } finally {
    datafeed.close();
    await server.stop();
  }
});
