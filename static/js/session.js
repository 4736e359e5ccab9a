// Whether a market trades at a given moment, read from an instrument's SymbolInfo `session` and `timezone`.

// TradingView numbers days from Sunday (1) to Saturday (7); a session that names no days trades Monday to Friday.
const WEEKDAYS = [2, 3, 4, 5, 6];
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "0930" → 570 (minutes after midnight); NaN for anything else. */
function minutesOf(text) {
  return /^\d{4}$/.test(text) ? Number(text.slice(0, 2)) * 60 + Number(text.slice(2)) : NaN;
}

/** One "|"-separated part of a session: its periods in minutes and the days it names (null: none named). */
function parsePart(part) {
  const [periods, days] = part.split(":");
  return {
    days: days === undefined ? null : [...days].map(Number),
    periods: periods.split(",").map((period) => period.split("-").map(minutesOf)),
  };
}

/** The periods trading on `day`: those of the parts that name it, else those of the part that names no day. */
function periodsOn(parts, day) {
  const named = parts.filter((part) => part.days !== null && part.days.includes(day));
  const chosen = named.length ? named : parts.filter((part) => part.days === null && WEEKDAYS.includes(day));
  return chosen.flatMap((part) => part.periods);
}

/** The wall clock in `timeZone` at `timeMs`: day (1 = Sunday … 7 = Saturday) and minute of that day. */
function wallClock(timeMs, timeZone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const fields = Object.fromEntries(format.formatToParts(new Date(timeMs)).map((part) => [part.type, part.value]));
  return { day: DAY_NAMES.indexOf(fields.weekday) + 1, minute: Number(fields.hour) * 60 + Number(fields.minute) };
}

/**
 * Whether `session` trades at `timeMs` (ms UTC), with its times in `timeZone` (IANA name; daylight saving
 * follows from it). `session` is TradingView's notation: "24x7"; "HHMM-HHMM" periods joined by ","; ":"
 * and the days they apply to (1 = Sunday … 7 = Saturday; none = Monday to Friday); parts for other days
 * joined by "|". A period that ends at or before its start is overnight and belongs to the day it ends on
 * ("1700-1700:23456": Sunday 17:00 to Friday 17:00); "0000-0000" is the whole day. Returns null when the
 * session or the time zone cannot be read.
 */
export function isTrading(session, timeZone, timeMs) {
  if (session === "24x7") return true;
  let clock;
  try {
    clock = wallClock(timeMs, timeZone);
  } catch {
    return null; // an unknown time zone
  }
  const parts = String(session).split("|").map(parsePart);
  if (parts.some((part) => part.periods.some((period) => period.length !== 2 || period.some(Number.isNaN)))) {
    return null;
  }
  const { day, minute } = clock;
  const tomorrow = (day % 7) + 1;
  const today = periodsOn(parts, day).some(([start, end]) => {
    if (start === 0 && end === 0) return true;
    return end > start ? start <= minute && minute < end : minute < end;
  });
  // Tonight's part of tomorrow's overnight periods.
  const tonight = periodsOn(parts, tomorrow).some(([start, end]) => end <= start && start > 0 && minute >= start);
  return today || tonight;
}
