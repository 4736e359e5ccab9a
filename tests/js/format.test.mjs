// The page's formatting helpers, one place each.
import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml, formatPercent, formatPrice, formatVolume, pricePrecision } from "../../static/js/format.js";

const TEST = { timeout: 10_000 };

test("pricePrecision counts the decimals of pricescale, whatever the tick count minmov", TEST, () => {
  assert.equal(pricePrecision({ pricescale: 100, minmov: 1 }), 2);
  assert.equal(pricePrecision({ pricescale: 100000, minmov: 1 }), 5);
  assert.equal(pricePrecision({ pricescale: 100, minmov: 5 }), 2, "a tick of 0.05 has two decimals");
  assert.equal(pricePrecision({ pricescale: 1, minmov: 1 }), 0);
});

test("formatPrice writes exactly the instrument's decimals", TEST, () => {
  assert.equal(formatPrice(41234.5, 2), "41234.50");
  assert.equal(formatPrice(1.084, 5), "1.08400");
  assert.equal(formatPrice(153.7, 0), "154");
});

test("formatVolume abbreviates thousands, millions and billions", TEST, () => {
  assert.equal(formatVolume(0), "0");
  assert.equal(formatVolume(12.345), "12.35");
  assert.equal(formatVolume(999), "999");
  assert.equal(formatVolume(1000), "1.00K");
  assert.equal(formatVolume(1530), "1.53K");
  assert.equal(formatVolume(1_000_000), "1.00M");
  assert.equal(formatVolume(2_500_000), "2.50M");
  assert.equal(formatVolume(1e9), "1.00B");
  assert.equal(formatVolume(2.5e9), "2.50B");
});

test("formatPercent signs the change and keeps two decimals", TEST, () => {
  assert.equal(formatPercent(1.234), "+1.23%");
  assert.equal(formatPercent(0), "+0.00%");
  assert.equal(formatPercent(-0.5), "-0.50%");
});

test("escapeHtml makes text inert in content and quoted attributes", TEST, () => {
  assert.equal(escapeHtml(`<b a="1" b='2'>&</b>`), "&#60;b a=&#34;1&#34; b=&#39;2&#39;&#62;&#38;&#60;/b&#62;");
  assert.equal(escapeHtml(42), "42");
});
