// The chart page: wires the datafeed, the chart, the search box, the watchlist and the URL together.
import { Datafeed, DatafeedError, ErrorCode, normaliseResolution } from "./datafeed.js";
import { isTrading } from "./session.js";
import { markCurrent, setupSearch, setupWatchlist } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const chartElement = $("chart");
const RESOLUTIONS = [...$("resolutions").querySelectorAll("button")].map((button) => button.dataset.resolution);
// The address may name an unknown resolution: the page says so, and the next chart chosen uses the default.
const asked = { symbol: chartElement.dataset.symbol, resolution: chartElement.dataset.resolution };
const state = {
  symbol: asked.symbol,
  resolution: RESOLUTIONS.includes(normaliseResolution(asked.resolution))
    ? normaliseResolution(asked.resolution)
    : chartElement.dataset.defaultResolution,
  info: null, // the SymbolInfo on screen
};
// How far the server's clock is ahead of this browser's (ms); null until /udf/time has answered.
const clock = { offsetMs: null };
const MARKET_CHECK_MS = 15000;
// How the server's descriptions mark a simulated instrument; imported ones are not marked.
const SIMULATED = " (simulated)";

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setStatus(status, text = status) {
  $("status").dataset.status = status;
  $("status").textContent = text;
}

/** What the page says when `symbol` cannot be shown: unknown symbol, server unreachable, or the server's words. */
function explain(error, symbol) {
  const code = error instanceof DatafeedError ? error.code : error;
  if (code === ErrorCode.UNKNOWN_SYMBOL) return `Unknown symbol: ${symbol}`;
  if (code === ErrorCode.NETWORK) return `Server unreachable: cannot load ${symbol}. Try again once it is back.`;
  return `Cannot load the chart: ${error.message || error}`;
}

const datafeed = new Datafeed({
  onStatus: (status) => {
    setStatus(status);
    if (status === "offline") showError("Server unreachable; retrying…");
    if (status === "connected") showError("");
  },
});

// Imported on its own so that the rest of the page works, and says why, when the chart library is missing.
const view = await import("./chart-view.js").then(
  ({ ChartView }) => new ChartView(chartElement, $("legend"), datafeed),
  (error) => {
    showError(
      `The chart library did not load (${error.message}). In a checkout it comes from node_modules: ` +
        "run `npm ci` (`make run` does) and reload. An installed package has it only if it was built after " +
        "`npm ci` (`make dist` does): install such a build.",
    );
    setStatus("unavailable", "chart unavailable");
    return null;
  },
);

/** "market closed" while the charted instrument is outside its session, by the server's clock. */
function showMarket() {
  const open =
    state.info && clock.offsetMs !== null
      ? isTrading(state.info.session, state.info.timezone, Date.now() + clock.offsetMs)
      : null;
  const market = $("market");
  if (open === null) delete market.dataset.state;
  else market.dataset.state = open ? "open" : "closed";
  market.hidden = open !== false;
}

/** "Simulated data" only while the chart shows a simulated instrument. */
function showSimulated(info) {
  const simulated = info.description.endsWith(SIMULATED);
  $("simulated").hidden = !simulated;
  $("simulated-note").hidden = !simulated;
}

/**
 * The resolution to chart `info` at when `wanted` is asked: itself when the instrument has it, else the finest
 * coarser one it has (an imported instrument has its stored resolution and coarser ones), else its coarsest.
 */
function servedResolution(info, wanted) {
  const served = info.supported_resolutions;
  if (served.includes(wanted)) return wanted;
  const coarser = served.filter((resolution) => RESOLUTIONS.indexOf(resolution) > RESOLUTIONS.indexOf(wanted));
  return coarser.length ? coarser[0] : served[served.length - 1];
}

function applyTheme(name) {
  document.documentElement.dataset.theme = name;
  localStorage.setItem("theme", name);
  if (view) view.applyTheme(name);
}

async function select(symbol, resolution) {
  if (!view) return;
  const wanted = { symbol: symbol.toUpperCase(), resolution: normaliseResolution(resolution) };
  const problems = [];
  let info = null;
  try {
    info = await new Promise((resolve, reject) => datafeed.resolveSymbol(wanted.symbol, resolve, reject));
  } catch (error) {
    problems.push(explain(error, wanted.symbol));
  }
  if (!RESOLUTIONS.includes(wanted.resolution)) {
    problems.push(`Unknown resolution: ${resolution} (one of ${RESOLUTIONS.join(", ")})`);
  }
  if (problems.length) {
    showError(problems.length === 1 ? problems[0] : problems.map((problem) => problem.replace(/\.$/, "")).join(". "));
    // Nothing charted, nothing streamed: not "connecting" for ever.
    if (!view.shown) setStatus("idle", "no chart");
    return;
  }
  const served = servedResolution(info, wanted.resolution);
  try {
    Object.assign(state, { symbol: info.name, resolution: served, info });
    const url = new URL(location.href);
    url.searchParams.set("symbol", state.symbol);
    url.searchParams.set("resolution", state.resolution);
    history.replaceState(null, "", url);
    document.title = `${state.symbol} ${state.resolution} · Trading Pro`;
    for (const button of $("resolutions").querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.resolution === state.resolution));
      button.disabled = !info.supported_resolutions.includes(button.dataset.resolution);
    }
    markCurrent($("watchlist"), state.symbol);
    showSimulated(info);
    showMarket();
    await view.show(info, state.resolution);
    showError(served === wanted.resolution ? "" : `${info.name} has no ${wanted.resolution} bars: showing ${served}`);
  } catch (error) {
    showError(explain(error, wanted.symbol));
  }
}

applyTheme(localStorage.getItem("theme") || (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark"));
$("theme").addEventListener("click", () => applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"));
$("resolutions").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-resolution]");
  if (button) select(state.symbol, button.dataset.resolution);
});
setupSearch($("search"), $("search-results"), datafeed, (symbol) => select(symbol, state.resolution));
datafeed.searchSymbols("", "", "", (all) => {
  setupWatchlist($("watchlist"), datafeed, all.map((r) => r.symbol), (symbol) => select(symbol, state.resolution));
  markCurrent($("watchlist"), state.symbol);
});
datafeed.getServerTime((seconds) => {
  clock.offsetMs = seconds * 1000 - Date.now();
  showMarket();
});
setInterval(showMarket, MARKET_CHECK_MS);
select(asked.symbol, asked.resolution);

// For end-to-end tests, the page-load benchmark and curious users: the page's live objects (`view` is
// null when the chart library is missing).
window.tradingPro = { datafeed, view, state, select };
