// The page's smaller widgets: symbol search (keyboard usable) and the watchlist.
import { escapeHtml, formatPercent } from "./format.js";

/** A search box listing matches from the datafeed; Enter or a click picks one. */
export function setupSearch(input, list, datafeed, onPick) {
  let results = [];
  let selected = -1;
  let timer = null;
  let nothingFound = false; // a search ran and matched nothing: say so rather than show no list

  const render = () => {
    const option = (r, i) =>
      `<li role="option" id="search-option-${i}" data-symbol="${escapeHtml(r.symbol)}" ` +
      `aria-selected="${i === selected}"><strong>${escapeHtml(r.symbol)}</strong>` +
      `<small>${escapeHtml(r.description)}</small></li>`;
    list.innerHTML = nothingFound
      ? `<li class="empty" role="option" aria-disabled="true" aria-selected="false">No results</li>`
      : results.map(option).join("");
    list.hidden = results.length === 0 && !nothingFound;
    input.parentElement.setAttribute("aria-expanded", String(!list.hidden));
    input.setAttribute("aria-activedescendant", selected >= 0 ? `search-option-${selected}` : "");
  };
  const close = () => {
    results = [];
    selected = -1;
    nothingFound = false;
    render();
  };
  const pick = (symbol) => {
    close();
    input.value = "";
    input.blur();
    onPick(symbol);
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const query = input.value;
      datafeed.searchSymbols(query, "", "", (found) => {
        if (input.value !== query) return; // an answer to an older query
        results = found.slice(0, 12);
        selected = results.length ? 0 : -1;
        nothingFound = results.length === 0 && query.trim() !== "";
        render();
      });
    }, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!results.length) return;
      selected = (selected + (event.key === "ArrowDown" ? 1 : -1) + results.length) % results.length;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (selected >= 0) pick(results[selected].symbol);
      else if (input.value.trim()) pick(input.value.trim().toUpperCase());
    } else if (event.key === "Escape") {
      close();
    }
  });
  list.addEventListener("mousedown", (event) => {
    const option = event.target.closest("[data-symbol]");
    if (option) pick(option.dataset.symbol);
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

/** The markets table: last price and change of every instrument, refreshed by polling quotes. */
export function setupWatchlist(body, datafeed, symbols, onPick) {
  body.innerHTML = symbols
    .map((s) => `<tr data-symbol="${escapeHtml(s)}" tabindex="0"><td>${escapeHtml(s)}</td><td>…</td><td></td></tr>`)
    .join("");
  datafeed.subscribeQuotes(symbols, [], (quotes) => {
    for (const quote of quotes) {
      const row = body.querySelector(`tr[data-symbol="${CSS.escape(quote.n)}"]`);
      if (!row || quote.s !== "ok") continue;
      // An imported instrument's quote lacks what its bars cannot tell (no change before its second day).
      row.cells[1].textContent = quote.v.lp === undefined ? "—" : String(quote.v.lp);
      row.cells[2].textContent = quote.v.chp === undefined ? "" : formatPercent(quote.v.chp);
      row.cells[2].className = quote.v.ch === undefined ? "" : quote.v.ch >= 0 ? "up" : "down";
    }
  }, "watchlist");
  const choose = (event) => {
    const row = event.target.closest("tr[data-symbol]");
    if (row) onPick(row.dataset.symbol);
  };
  body.addEventListener("click", choose);
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter") choose(event);
  });
}

export function markCurrent(body, symbol) {
  for (const row of body.querySelectorAll("tr[data-symbol]")) {
    row.setAttribute("aria-current", String(row.dataset.symbol === symbol));
  }
}
