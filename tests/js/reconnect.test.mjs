// An outage across a bar boundary: the datafeed must hold every bar of it exactly as /bars serves it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { Datafeed, Status } from "../../static/js/datafeed.js";
import { startServer } from "./server.mjs";
import { minuteOf, servedBars, until, within } from "./support.mjs";

const MINUTE_MS = 60_000;
const ENV = { BAR_BROADCASTER_INTERVAL: "0.05", LOG_LEVEL: "WARNING" };
const BTC = { name: "BTCUSD", ticker: "BTCUSD" };
// The server goes down this long before a minute boundary and comes back this long after it.
const DOWN_BEFORE_MS = 5_000;
const UP_AFTER_MS = 1_000;
// How long a correct back-fill may take to reach the client once it has reconnected.
const SETTLE_MS = 5_000;

test("a reconnection after an outage across a bar boundary leaves no bar stale or missing", { timeout: 150_000 }, async () => {
  let server = await startServer(ENV);
  const statuses = [];
  const datafeed = new Datafeed({ baseUrl: server.baseUrl, maxBackoffMs: 500, onStatus: (s) => statuses.push(s) });
  try {
    // The first boundary that leaves time to load and subscribe first: at most 61 s away.
    const boundary = minuteOf(Date.now() + DOWN_BEFORE_MS + 2_000) + MINUTE_MS;
    // As a chart holds bars: history first, then live updates (equal time replaces, later appends).
    const held = new Map();
    for (const bar of await servedBars(server.baseUrl, "BTCUSD", "1", boundary - 5 * MINUTE_MS, boundary)) {
      held.set(bar.time, bar);
    }
    const onHeld = new Set();
    datafeed.subscribeBars(BTC, "1", (bar) => {
      held.set(bar.time, bar);
      for (const listener of onHeld) listener(bar);
    }, "outage");
    const waitFor = (ms, what, predicate) => within(ms, what, new Promise((resolve) => {
      const listener = (bar) => {
        if (!predicate(bar)) return;
        onHeld.delete(listener);
        resolve(bar);
      };
      onHeld.add(listener);
    }));
    await waitFor(20_000, "the first live update", () => true);

    await until(boundary - DOWN_BEFORE_MS);
    await server.stop();
    await until(boundary + UP_AFTER_MS);
    server = await startServer(ENV, { port: server.port });
    // The client reconnects by itself; the first bar of the new minute comes from the restarted server.
    await waitFor(30_000, "an update of the minute after the outage", (bar) => bar.time >= boundary);
    assert.ok(statuses.includes(Status.RECONNECTING), statuses.join());

    // Closed bars are final: the one before the outage and the one it cut short. The new minute is forming.
    const served = await servedBars(server.baseUrl, "BTCUSD", "1", boundary - 2 * MINUTE_MS, boundary + MINUTE_MS);
    const closed = served.filter((bar) => bar.time < boundary);
    assert.deepEqual(closed.map((bar) => bar.time), [boundary - 2 * MINUTE_MS, boundary - MINUTE_MS]);
    const matches = () => closed.every((bar) => isDeepStrictEqual(held.get(bar.time), bar));
    if (!matches()) await waitFor(SETTLE_MS, "the back-fill", matches).catch(() => {});

    const times = [...held.keys()].sort((a, b) => a - b);
    for (let i = 1; i < times.length; i += 1) assert.equal(times[i] - times[i - 1], MINUTE_MS, "a missing minute");
    for (const bar of closed) {
      const mine = held.get(bar.time);
      assert.deepEqual(mine, bar, `${new Date(bar.time).toISOString()}: held ${JSON.stringify(mine)}, /bars ${JSON.stringify(bar)}`);
    }
    const forming = held.get(boundary);
    assert.equal(forming.open, served.find((bar) => bar.time === boundary).open, "the forming bar's open");
  } finally {
    datafeed.close();
    await server.stop();
  }
});
