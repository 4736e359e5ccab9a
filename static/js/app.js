// The chart page: wires the datafeed, the chart, the search box, the watchlist and the URL together.
import { Datafeed, DatafeedError, ErrorCode, normaliseResolution } from "./datafeed.js";
import { markCurrent, setupSearch, setupWatchlist } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const chartElement = $("chart");
const state = { symbol: chartElement.dataset.symbol, resolution: chartElement.dataset.resolution };

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
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
    $("status").dataset.status = status;
    $("status").textContent = status;
    if (status === "offline") showError("Server unreachable; retrying…");
    if (status === "connected") showError("");
  },
});

// Imported on its own so that the rest of the page works, and says why, when the chart library is missing.
const view = await import("./chart-view.js").then(
  ({ ChartView }) => new ChartView(chartElement, $("legend"), datafeed),
  (error) => {
    showError(
      `The chart library did not load (${error.message}). It is served from node_modules: ` +
        "run `npm ci` (`make run` does) and reload.",
    );
    return null;
  },
);

function applyTheme(name) {
  document.documentElement.dataset.theme = name;
  localStorage.setItem("theme", name);
  if (view) view.applyTheme(name);
}

async function select(symbol, resolution) {
  if (!view) return;
  const wanted = { symbol: symbol.toUpperCase(), resolution: normaliseResolution(resolution) };
  try {
    const info = await new Promise((resolve, reject) => datafeed.resolveSymbol(wanted.symbol, resolve, reject));
    Object.assign(state, { symbol: info.name, resolution: wanted.resolution });
    const url = new URL(location.href);
    url.searchParams.set("symbol", state.symbol);
    url.searchParams.set("resolution", state.resolution);
    history.replaceState(null, "", url);
    document.title = `${state.symbol} ${state.resolution} · Trading Pro`;
    for (const button of $("resolutions").querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.resolution === state.resolution));
    }
    markCurrent($("watchlist"), state.symbol);
    await view.show(info, state.resolution);
    showError("");
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
select(state.symbol, state.resolution);

// For end-to-end tests, the page-load benchmark and curious users: the page's live objects (`view` is
// null when the chart library is missing).
window.tradingPro = { datafeed, view, state, select };
