// Trading hours read from a SymbolInfo session: fixed moments, so every case runs whatever the hour.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isTrading } from "../../static/js/session.js";

/** Each case is [ISO time (UTC), whether `session` in `timeZone` trades then]. */
function check(session, timeZone, cases) {
  for (const [iso, trading] of cases) {
    assert.equal(isTrading(session, timeZone, Date.parse(iso)), trading, `${session} ${timeZone} at ${iso}`);
  }
}

test("24x7 trades at every moment", () => {
  check("24x7", "Etc/UTC", [
    ["2026-03-07T12:00:00Z", true], // Saturday
    ["2026-03-08T03:00:00Z", true], // Sunday night
    ["2026-12-25T00:00:00Z", true],
  ]);
});

test("a New York stock session 0930-1600 follows daylight saving and skips the weekend", () => {
  check("0930-1600", "America/New_York", [
    // Friday 6 March 2026, EST (UTC-5): 09:30 is 14:30 UTC.
    ["2026-03-06T14:29:59Z", false],
    ["2026-03-06T14:30:00Z", true],
    ["2026-03-06T20:59:00Z", true],
    ["2026-03-06T21:00:00Z", false],
    // Saturday and Sunday.
    ["2026-03-07T15:00:00Z", false],
    ["2026-03-08T15:00:00Z", false],
    // Monday 9 March 2026, EDT (UTC-4) since Sunday: 09:30 is 13:30 UTC.
    ["2026-03-09T13:29:00Z", false],
    ["2026-03-09T13:30:00Z", true],
    ["2026-03-09T19:59:00Z", true],
    ["2026-03-09T20:00:00Z", false],
  ]);
});

test("named days and a UTC session: 1430-2100:23456", () => {
  check("1430-2100:23456", "Etc/UTC", [
    ["2026-03-09T14:30:00Z", true],
    ["2026-03-09T21:00:00Z", false],
    ["2026-03-07T15:00:00Z", false], // Saturday
  ]);
});

test("an overnight forex session 1700-1700:23456 runs from Sunday 17:00 to Friday 17:00 New York time", () => {
  check("1700-1700:23456", "America/New_York", [
    // Sunday 8 March 2026 is already EDT: 17:00 is 21:00 UTC.
    ["2026-03-08T20:59:00Z", false],
    ["2026-03-08T21:00:00Z", true],
    ["2026-03-11T04:00:00Z", true], // Wednesday night
    ["2026-03-13T20:59:00Z", true], // Friday 16:59
    ["2026-03-13T21:00:00Z", false], // Friday 17:00
    ["2026-03-14T12:00:00Z", false], // Saturday
  ]);
});

test("0000-0000 is the whole of each named day", () => {
  check("0000-0000:23456", "Etc/UTC", [
    ["2026-03-09T00:00:00Z", true], // Monday midnight
    ["2026-03-13T23:59:00Z", true], // Friday 23:59
    ["2026-03-14T00:00:00Z", false], // Saturday
    ["2026-03-08T23:59:00Z", false], // Sunday
  ]);
});

test("several periods a day, and a part for one day that replaces the others on it", () => {
  check("0930-1200,1300-1600", "Etc/UTC", [
    ["2026-03-09T11:59:00Z", true],
    ["2026-03-09T12:30:00Z", false],
    ["2026-03-09T13:00:00Z", true],
  ]);
  check("0900-1630|0900-1400:2", "Etc/UTC", [
    ["2026-03-09T15:00:00Z", false], // Monday closes at 14:00
    ["2026-03-10T15:00:00Z", true], // Tuesday trades until 16:30
  ]);
});

test("a session or time zone it cannot read gives null, not a guess", () => {
  check("0930-1600", "Mars/Olympus", [["2026-03-09T15:00:00Z", null]]);
  check("nine to five", "Etc/UTC", [["2026-03-09T15:00:00Z", null]]);
});
