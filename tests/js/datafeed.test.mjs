// The TradingView JS Datafeed module against a real server, as a Charting Library widget would use it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Datafeed, Status, normaliseResolution } from "../../static/js/datafeed.js";
import { startServer } from "./server.mjs";

const call = (fn) => new Promise((resolve, reject) => fn(resolve, reject));

/** Resolves with the first `count` ticks a listener receives. */
function ticks(datafeed, info, resolution, guid, count) {
  return new Promise((resolve) => {
    const seen = [];
    datafeed.subscribeBars(info, resolution, (bar) => {
      seen.push(bar);
      if (seen.length === count) resolve(seen);
    }, guid);
  });
}

describe("Datafeed over REST and WebSocket", () => {
  let server;
  let datafeed;
  before(async () => {
    server = await startServer({ BAR_BROADCASTER_INTERVAL: "0.05" });
    datafeed = new Datafeed({ baseUrl: server.baseUrl });
  });
  after(async () => {
    datafeed.close();
    await server.stop();
  });

  test("onReady gives the configuration", async () => {
    const config = await call((resolve) => datafeed.onReady(resolve));
    assert.deepEqual(config.supported_resolutions, ["1", "5", "15", "30", "60", "240", "1D", "1W", "1M"]);
    assert.equal(config.supports_time, true);
  });

  test("searchSymbols and resolveSymbol", async () => {
    const found = await call((resolve) => datafeed.searchSymbols("bitcoin", "", "", resolve));
    assert.deepEqual(found.map((r) => r.symbol), ["BTCUSD"]);
    const info = await call((resolve, reject) => datafeed.resolveSymbol("aapl", resolve, reject));
    assert.equal(info.name, "AAPL");
    assert.equal(info.pricescale, 100);
    const error = await call((resolve, reject) => datafeed.resolveSymbol("NOPE", reject, resolve));
    assert.equal(error, "unknown_symbol");
  });

  test("getBars returns ascending millisecond bars and noData before history", async () => {
    const info = { name: "EURUSD", ticker: "EURUSD" };
    const now = Math.floor(Date.now() / 1000);
    const [bars, meta] = await new Promise((resolve, reject) =>
      datafeed.getBars(info, "60", { from: now - 3 * 86400, to: now, countBack: 10, firstDataRequest: true },
        (...args) => resolve(args), reject));
    assert.ok(bars.length >= 10);
    assert.equal(meta.noData, false);
    for (let i = 1; i < bars.length; i += 1) assert.ok(bars[i].time > bars[i - 1].time);
    assert.equal(bars[0].time % 3600000, 0);
    const [none, noneMeta] = await new Promise((resolve, reject) =>
      datafeed.getBars(info, "1D", { from: 0, to: 86400, countBack: 0 }, (...args) => resolve(args), reject));
    assert.deepEqual(none, []);
    assert.equal(noneMeta.noData, true);
  });

  test("getServerTime and getQuotes", async () => {
    const time = await call((resolve) => datafeed.getServerTime(resolve));
    assert.ok(Math.abs(time - Date.now() / 1000) < 5);
    const quotes = await call((resolve, reject) => datafeed.getQuotes(["AAPL", "nope"], resolve, reject));
    assert.deepEqual(quotes.map((q) => q.s), ["ok", "error"]);
    assert.ok(quotes[0].v.lp > 0);
  });

  test("subscribeQuotes polls until unsubscribed", async () => {
    const quotes = await new Promise((resolve) => datafeed.subscribeQuotes(["BTCUSD"], ["ETHUSD"], resolve, "q1"));
    datafeed.unsubscribeQuotes("q1");
    assert.deepEqual(quotes.map((q) => q.n).sort(), ["BTCUSD", "ETHUSD"]);
  });

  test("subscribeBars routes each topic to its listeners on one socket, time never going back", async () => {
    const [btc, eth] = await Promise.all([
      ticks(datafeed, { name: "BTCUSD", ticker: "BTCUSD" }, "1", "btc", 5),
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

  test("normaliseResolution maps aliases", () => {
    assert.equal(normaliseResolution("D"), "1D");
    assert.equal(normaliseResolution("w"), "1W");
    assert.equal(normaliseResolution("15"), "15");
  });
});

describe("Datafeed reconnection", () => {
  test("reconnects when the server ends the connection, re-subscribes and keeps time moving forward", async () => {
    const server = await startServer({ BAR_BROADCASTER_INTERVAL: "0.05", WS_MAX_CONNECTION_LIFESPAN: "1" });
    const statuses = [];
    const datafeed = new Datafeed({ baseUrl: server.baseUrl, onStatus: (s) => statuses.push(s) });
    try {
      const bars = [];
      await new Promise((resolve) => {
        datafeed.subscribeBars({ name: "BTCUSD", ticker: "BTCUSD" }, "1", (bar) => {
          bars.push(bar);
          // Updates after a reconnection prove the subscription was restored.
          if (statuses.filter((s) => s === Status.CONNECTED).length >= 2 && bars.length > 3) resolve();
        }, "reconnecting");
      });
      assert.ok(statuses.includes(Status.RECONNECTING), statuses.join());
      for (let i = 1; i < bars.length; i += 1) assert.ok(bars[i].time >= bars[i - 1].time);
    } finally {
      datafeed.close();
      await server.stop();
    }
  });
});
