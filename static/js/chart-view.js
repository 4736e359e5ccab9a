// The candlestick + volume chart of one topic: history, paging back, live updates, legend.
// The library's self-contained ES module build: its other build imports the bare specifier
// "fancy-canvas", which a browser can only resolve through an import map.
import {
  CandlestickSeries,
  CrosshairMode,
  HistogramSeries,
  createChart,
} from "/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";
import { escapeHtml, formatPrice, formatVolume, pricePrecision } from "./format.js";

const PAGE = 300;
const THEMES = {
  dark: { background: "#0f1419", text: "#c9d1d9", grid: "#1c2430", up: "#26a69a", down: "#ef5350" },
  light: { background: "#ffffff", text: "#1b1f24", grid: "#eef1f4", up: "#089981", down: "#d32f2f" },
};

export class ChartView {
  constructor(container, legend, datafeed) {
    this.datafeed = datafeed;
    this.legend = legend;
    this.chart = createChart(container, {
      autoSize: true,
      layout: { attributionLogo: true },
      timeScale: { timeVisible: true, secondsVisible: false },
      crosshair: { mode: CrosshairMode.Normal },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {});
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceScaleId: "volume",
      priceFormat: { type: "volume" },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.bars = [];
    this.generation = 0;
    this.shown = null; // "SYMBOL:RESOLUTION" once its history is on screen
    this.chart.subscribeCrosshairMove((param) => this._showLegend(param));
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (range && range.from < 20) this.loadOlder();
    });
  }

  applyTheme(name) {
    const theme = THEMES[name];
    this.theme = theme;
    this.chart.applyOptions({
      layout: { background: { color: theme.background }, textColor: theme.text, attributionLogo: true },
      grid: { vertLines: { color: theme.grid }, horzLines: { color: theme.grid } },
    });
    this.candles.applyOptions({
      upColor: theme.up, downColor: theme.down, borderVisible: false, wickUpColor: theme.up, wickDownColor: theme.down,
    });
    if (this.bars.length) this.volume.setData(this.bars.map((bar) => this._volumePoint(bar)));
  }

  /** Show `symbol` at `resolution`: history first, then live updates; older requests are ignored. */
  async show(symbolInfo, resolution) {
    const generation = ++this.generation;
    if (this.listener) this.datafeed.unsubscribeBars(this.listener);
    this.listener = null;
    this.info = symbolInfo;
    this.resolution = resolution;
    this.noMoreHistory = false;
    this.loadingOlder = null;
    const minMove = symbolInfo.minmov / symbolInfo.pricescale;
    this.candles.applyOptions({ priceFormat: { type: "price", precision: pricePrecision(symbolInfo), minMove } });
    const horizon = Date.now() / 1000 + 86400 * 40;
    const { bars, noData } = await this.datafeed.fetchBars(symbolInfo.name, resolution, horizon, horizon, PAGE);
    if (generation !== this.generation) return;
    this.noMoreHistory = noData;
    this._setBars(bars);
    // Newest bars at the default spacing: the left edge stays off screen until the user scrolls back.
    this.chart.timeScale().resetTimeScale();
    this.shown = `${symbolInfo.name}:${resolution}`;
    // Read by the page-load benchmark: time from navigation to the first candles on screen.
    if (!performance.getEntriesByName("first-candle").length) performance.mark("first-candle");
    this.listener = `chart-${generation}`;
    // A resume the server cannot replay (the tab slept past its limit) leaves a gap: load history afresh.
    const reload = () => {
      if (generation === this.generation) this.show(symbolInfo, resolution);
    };
    this.datafeed.subscribeBars(symbolInfo, resolution, (bar) => {
      if (generation === this.generation) this._apply(bar);
    }, this.listener, reload);
  }

  /** Prepend the page of bars before the earliest one, keeping the view where it is. */
  loadOlder() {
    if (this.loadingOlder || this.noMoreHistory || !this.bars.length || !this.info) return this.loadingOlder;
    const generation = this.generation;
    const earliest = this.bars[0].time / 1000;
    this.loadingOlder = this.datafeed
      .fetchBars(this.info.name, this.resolution, earliest, earliest, PAGE)
      .then(({ bars, noData }) => {
        if (generation !== this.generation) return;
        this.noMoreHistory = noData || bars.length === 0;
        const older = bars.filter((bar) => bar.time < this.bars[0].time);
        if (!older.length) return;
        const range = this.chart.timeScale().getVisibleLogicalRange();
        this._setBars(older.concat(this.bars));
        if (range) {
          this.chart.timeScale().setVisibleLogicalRange({ from: range.from + older.length, to: range.to + older.length });
        }
      })
      .catch(() => {})
      .finally(() => {
        this.loadingOlder = null;
      });
    return this.loadingOlder;
  }

  _setBars(bars) {
    this.bars = bars;
    this.candles.setData(bars.map(toCandle));
    this.volume.setData(bars.map((bar) => this._volumePoint(bar)));
    this._showLegend({});
  }

  _apply(bar) {
    const last = this.bars[this.bars.length - 1];
    if (last && bar.time < last.time) return;
    if (last && bar.time === last.time) this.bars[this.bars.length - 1] = bar;
    else this.bars.push(bar);
    this.candles.update(toCandle(bar));
    this.volume.update(this._volumePoint(bar));
    this._showLegend({});
  }

  _volumePoint(bar) {
    const color = bar.close >= bar.open ? this.theme.up : this.theme.down;
    return { time: bar.time / 1000, value: bar.volume, color: `${color}66` };
  }

  _showLegend(param) {
    if (!this.info) return;
    const hovered = param.time !== undefined ? this.bars.find((bar) => bar.time / 1000 === param.time) : null;
    const bar = hovered || this.bars[this.bars.length - 1];
    const name = `<span class="name">${escapeHtml(this.info.name)} · ${escapeHtml(this.resolution)}</span>`;
    if (!bar) {
      this.legend.innerHTML = `${name}no data`;
      return;
    }
    const direction = bar.close >= bar.open ? "up" : "down";
    const precision = pricePrecision(this.info);
    const price = (value) => `<span class="${direction}">${formatPrice(value, precision)}</span>`;
    this.legend.innerHTML =
      `${name}O ${price(bar.open)} H ${price(bar.high)} L ${price(bar.low)} C ${price(bar.close)} ` +
      `V <span>${formatVolume(bar.volume)}</span>`;
    this.legend.dataset.time = String(bar.time);
    this.legend.dataset.close = String(bar.close);
  }
}

function toCandle(bar) {
  return { time: bar.time / 1000, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}
