// How the page writes numbers and text: prices, volumes, percentages, HTML-safe strings.

/**
 * Decimals an instrument's prices carry: log10(pricescale), as TradingView defines pricescale (100 → 2,
 * 100000 → 5). `minmov` counts ticks and changes no decimal: 0.05 (minmov 5, pricescale 100) has two.
 */
export function pricePrecision(symbolInfo) {
  return Math.max(0, Math.round(Math.log10(symbolInfo.pricescale)));
}

/** A price with exactly `precision` decimals: (41234.5, 2) → "41234.50". */
export function formatPrice(price, precision) {
  return price.toFixed(precision);
}

/** A volume in K/M/B with two decimals past a thousand: 1530 → "1.53K", 2.5e9 → "2.50B", 12.345 → "12.35". */
export function formatVolume(volume) {
  if (volume >= 1e9) return `${(volume / 1e9).toFixed(2)}B`;
  if (volume >= 1e6) return `${(volume / 1e6).toFixed(2)}M`;
  if (volume >= 1e3) return `${(volume / 1e3).toFixed(2)}K`;
  return String(Math.round(volume * 100) / 100);
}

/** A change in percent, signed, two decimals: 1.234 → "+1.23%", -0.5 → "-0.50%", 0 → "+0.00%". */
export function formatPercent(percent) {
  return `${percent >= 0 ? "+" : ""}${percent.toFixed(2)}%`;
}

/** `text` safe inside HTML element content and quoted attributes. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
