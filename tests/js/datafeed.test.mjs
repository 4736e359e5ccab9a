// The TradingView JS Datafeed module against a real server, as a Charting Library widget would use it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Datafeed, DatafeedError, ErrorCode, Status, normaliseResolution } from "../../static/js/datafeed.js";
import { startServer } from "./server.mjs";
import { assertFormingBarFollowsMinutes, call, within } from "./support.mjs";

const TEST = { timeout: 60_000 };
const HOOK = { timeout: 90_000 };
const BTC = { name: "BTCUSD", ticker: "BTCUSD" };

/** Resolves with the first `count` ticks a listener receives (within 20 s). */
function ticks(datafeed, info, resolution, guid, count) {
  return within(20_000, `${count} ticks of ${info.name} ${resolution}`, new Promise((resolve) => {
    const seen = [];
    datafeed.subscribeBars(info, resolution, (bar) => {
      seen.push(bar);
      if (seen.length === count) resolve(seen);
    }, guid);
  }));
}

/** A listener's ticks as they come: `next(afterMs)` is the first one received at or after `afterMs`. */
function follow(datafeed, info, resolution, guid) {
  const waiting = [];
  datafeed.subscribeBars(info, resolution, (bar) => {
    const now = Date.now();
    for (const waiter of waiting.filter((w) => now >= w.afterMs)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(bar);
    }
  }, guid);
  return {
    next: (afterMs) => within(20_000, `a tick of ${info.name} ${resolution}`, new Promise((resolve) => waiting.push({ afterMs, resolve }))),
  };
}

describe("Datafeed over REST and WebSocket", () => {
  let server;
  let datafeed;
  before(async () => {
    server = await startServer({ BAR_BROADCASTER_INTERVAL: "0.05", LOG_LEVEL: "WARNING" });
    datafeed = new Datafeed({ baseUrl: server.baseUrl });
  }, HOOK);
  after(async () => {
    datafeed.close();
    await server.stop();
  }, HOOK);

  test("onReady gives the configuration", TEST, async () => {
    const config = await call((resolve) => datafeed.onReady(resolve), "onReady");
    assert.deepEqual(config.supported_resolutions, ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"]);
    assert.equal(config.supports_time, true);
  });

  test("searchSymbols and resolveSymbol; an unknown symbol is unknown_symbol", TEST, async () => {
    const found = await call((resolve) => datafeed.searchSymbols("bitcoin", "", "", resolve), "search");
    assert.deepEqual(found.map((r) => r.symbol), ["BTCUSD"]);
    const info = await call((resolve, reject) => datafeed.resolveSymbol("aapl", resolve, reject), "resolve AAPL");
    assert.equal(info.name, "AAPL");
    assert.equal(info.pricescale, 100);
    const error = await call((resolve, reject) => datafeed.resolveSymbol("NOPE", reject, resolve), "resolve NOPE");
    assert.equal(error, "unknown_symbol");
  });

  test("getBars returns ascending millisecond bars and noData before history", TEST, async () => {
    const info = { name: "EURUSD", ticker: "EURUSD" };
    const now = Math.floor(Date.now() / 1000);
    const [bars, meta] = await call((resolve, reject) =>
      datafeed.getBars(info, "60", { from: now - 3 * 86400, to: now, countBack: 10, firstDataRequest: true },
        (...args) => resolve(args), reject), "getBars EURUSD 60");
    assert.ok(bars.length >= 10);
    assert.equal(meta.noData, false);
    for (let i = 1; i < bars.length; i += 1) assert.ok(bars[i].time > bars[i - 1].time);
    assert.equal(bars[0].time % 3600000, 0);
    const [none, noneMeta] = await call((resolve, reject) =>
      datafeed.getBars(info, "1D", { from: 0, to: 86400, countBack: 0 }, (...args) => resolve(args), reject),
    "getBars before history");
    assert.deepEqual(none, []);
    assert.equal(noneMeta.noData, true);
  });

  test("getBars of an unknown symbol reports the server's 404 in words", TEST, async () => {
    const now = Math.floor(Date.now() / 1000);
    const message = await call((resolve, reject) =>
      datafeed.getBars({ name: "NOPE", ticker: "NOPE" }, "1", { from: now - 3600, to: now, countBack: 0 }, reject, resolve),
    "getBars NOPE");
    assert.equal(message, "Unknown symbol: NOPE");
    const error = await datafeed.fetchBars("NOPE", "1", now - 3600, now).catch((e) => e);
    assert.ok(error instanceof DatafeedError);
    assert.equal(error.code, ErrorCode.UNKNOWN_SYMBOL);
    assert.equal(error.status, 404);
  });

  test("any other error answer is http_error with the server's words, not unknown_symbol", TEST, async () => {
    const now = Math.floor(Date.now() / 1000);
    const error = await datafeed.fetchBars("AAPL", "7", now - 3600, now).catch((e) => e);
    assert.ok(error instanceof DatafeedError);
    assert.equal(error.code, ErrorCode.HTTP);
    assert.equal(error.status, 422);
    assert.match(error.message, /resolution/i);
  });

  test("getServerTime and getQuotes", TEST, async () => {
    const time = await call((resolve) => datafeed.getServerTime(resolve), "server time");
    assert.ok(Math.abs(time - Date.now() / 1000) < 5);
    const quotes = await call((resolve, reject) => datafeed.getQuotes(["AAPL", "nope"], resolve, reject), "quotes");
    assert.deepEqual(quotes.map((q) => q.s), ["ok", "error"]);
    assert.ok(quotes[0].v.lp > 0);
  });

  test("subscribeQuotes polls until unsubscribed", TEST, async () => {
    const quotes = await call((resolve) => datafeed.subscribeQuotes(["BTCUSD"], ["ETHUSD"], resolve, "q1"), "quotes");
    datafeed.unsubscribeQuotes("q1");
    assert.deepEqual(quotes.map((q) => q.n).sort(), ["BTCUSD", "ETHUSD"]);
  });

  test("subscribeBars routes each topic to its listeners on one socket, time never going back", TEST, async () => {
    const [btc, eth] = await Promise.all([
      ticks(datafeed, BTC, "1", "btc", 5),
      ticks(datafeed, { name: "ETHUSD", ticker: "ETHUSD" }, "D", "eth", 5),
    ]);
    const health = await (await fetch(`${server.baseUrl}/api/v1/datafeed/health`)).json();
    assert.equal(health.connections, 1, "one socket carries every subscription");
    assert.equal(health.topics, 2);
    datafeed.unsubscribeBars("btc");
    datafeed.unsubscribeBars("eth");
    for (const bars of [btc, eth]) {
      for (let i = 1; i < bars.length; i += 1) assert.ok(bars[i].time >= bars[i - 1].time);
    }
    assert.ok(btc[0].close > 1000 && eth[0].close < btc[0].close, "each listener got its own topic");
    assert.equal(eth[0].time % 86400000, 0);
  });

  test("the forming 5-minute bar agrees with the 1-minute bars of its period", TEST, async () => {
    const live = follow(datafeed, BTC, "5", "btc-5");
    try {
      // A period may end between the readings: then the next one is checked.
      let checked = false;
      for (let attempt = 0; attempt < 3 && !checked; attempt += 1) {
        checked = await assertFormingBarFollowsMinutes(server.baseUrl, "BTCUSD", 300_000, live.next);
      }
      assert.ok(checked, "three periods ended during their check");
    } finally {
      datafeed.unsubscribeBars("btc-5");
    }
  });

  test("normaliseResolution maps aliases", TEST, () => {
    assert.equal(normaliseResolution("D"), "1D");
    assert.equal(normaliseResolution("w"), "1W");
    assert.equal(normaliseResolution("15"), "15");
  });
});

describe("Datafeed without a server", () => {
  let datafeed;
  before(async () => {
    // A port where a server was and is no more: connections are refused, no request gets an answer.
    const server = await startServer({ LOG_LEVEL: "WARNING" });
    await server.stop();
    datafeed = new Datafeed({ baseUrl: server.baseUrl });
  }, HOOK);
  after(() => datafeed.close());

  test("resolveSymbol says network_error, not unknown_symbol", TEST, async () => {
    const error = await call((resolve, reject) => datafeed.resolveSymbol("AAPL", reject, resolve), "resolve");
    assert.equal(error, "network_error");
  });

  test("getBars says the server is unreachable", TEST, async () => {
    const now = Math.floor(Date.now() / 1000);
    const message = await call((resolve, reject) =>
      datafeed.getBars(BTC, "1", { from: now - 3600, to: now, countBack: 0 }, reject, resolve), "getBars");
    assert.match(message, /^Server unreachable/);
    const error = await datafeed.fetchBars("BTCUSD", "1", now - 3600, now).catch((e) => e);
    assert.ok(error instanceof DatafeedError);
    assert.equal(error.code, ErrorCode.NETWORK);
    assert.equal(error.status, 0);
  });

  test("getQuotes says the server is unreachable; searchSymbols finds nothing", TEST, async () => {
    const message = await call((resolve, reject) => datafeed.getQuotes(["AAPL"], reject, resolve), "quotes");
    assert.match(message, /^Server unreachable/);
    assert.deepEqual(await call((resolve) => datafeed.searchSymbols("a", "", "", resolve), "search"), []);
  });
});

describe("Datafeed reconnection", () => {
  test("reconnects when the server ends the connection and re-subscribes, time moving forward", TEST, async () => {
    const server = await startServer({ BAR_BROADCASTER_INTERVAL: "0.05", WS_MAX_CONNECTION_LIFESPAN: "1" });
    const statuses = [];
    const datafeed = new Datafeed({ baseUrl: server.baseUrl, onStatus: (s) => statuses.push(s) });
    try {
      const bars = [];
      await within(30_000, "updates after a reconnection", new Promise((resolve) => {
        datafeed.subscribeBars(BTC, "1", (bar) => {
          bars.push(bar);
          // Updates after a reconnection prove the subscription was restored.
          if (statuses.filter((s) => s === Status.CONNECTED).length >= 2 && bars.length > 3) resolve();
        }, "reconnecting");
      }));
      assert.ok(statuses.includes(Status.RECONNECTING), statuses.join());
      for (let i = 1; i < bars.length; i += 1) assert.ok(bars[i].time >= bars[i - 1].time);
    } finally {
      datafeed.close();
      await server.stop();
    }
  });
});
