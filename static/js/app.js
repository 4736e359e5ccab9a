// The chart page: wires the datafeed, the chart, the search box, the watchlist and the URL together.
import { Datafeed, normaliseResolution } from "./datafeed.js";
import { ChartView } from "./chart-view.js";
import { markCurrent, setupSearch, setupWatchlist } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const chartElement = $("chart");
const state = { symbol: chartElement.dataset.symbol, resolution: chartElement.dataset.resolution };

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

const datafeed = new Datafeed({
  onStatus: (status) => {
    $("status").dataset.status = status;
    $("status").textContent = status;
    if (status === "offline") showError("The server cannot be reached; retrying…");
    if (status === "connected") showError("");
  },
});
const view = new ChartView(chartElement, $("legend"), datafeed);

function applyTheme(name) {
  document.documentElement.dataset.theme = name;
  localStorage.setItem("theme", name);
  view.applyTheme(name);
}

async function select(symbol, resolution) {
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
    showError(error === "unknown_symbol" ? `Unknown symbol: ${wanted.symbol}` : `Cannot load the chart: ${error.message || error}`);
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

// For end-to-end tests and curious users: the page's live objects.
window.tradingPro = { datafeed, view, state, select };
