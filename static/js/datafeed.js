// TradingView's JS Datafeed API over Trading Pro's REST datafeed and WebSocket bar feed.
//
// Hand an instance to a TradingView Charting Library widget (`datafeed: new Datafeed()`) or use it
// directly, as our chart page does. One WebSocket carries every subscription; it pings inside the
// heartbeat interval, reconnects with backoff, re-subscribes, and fills the gap from REST so a
// listener never sees time go backwards. Known limit: the bar that was forming when the socket dropped
// can keep its partial values (the back-fill is dropped once the socket has moved on); the
// `since` field of bars.subscribe will close that gap.

const API = "/api/v1/datafeed";
const UDF_TIME = "/api/v1/udf/time";
const WS_PATH = "/api/v1/ws";
const QUOTES_EVERY_MS = 5000;

/** Connection states reported to `onStatus`. */
export const Status = Object.freeze({ CONNECTING: "connecting", CONNECTED: "connected", RECONNECTING: "reconnecting", OFFLINE: "offline" });

/** Why a request failed, in the words TradingView's `onError` callbacks expect. */
export const ErrorCode = Object.freeze({
  UNKNOWN_SYMBOL: "unknown_symbol", // the server answered 404
  NETWORK: "network_error", // no answer: the server is down or unreachable
  HTTP: "http_error", // any other error answer
});

/** A failed request: `code` is an `ErrorCode`, `status` the HTTP status (0 when there was no answer). */
export class DatafeedError extends Error {
  constructor(message, code, status = 0) {
    super(message);
    this.name = "DatafeedError";
    this.code = code;
    this.status = status;
  }
}

export class Datafeed {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] origin of the server ("" = this page's origin)
   * @param {number} [options.pingIntervalMs] application ping period, inside the server's heartbeat interval
   * @param {number} [options.maxBackoffMs] longest wait between reconnection attempts
   * @param {(status: string) => void} [options.onStatus] connection state changes
   */
  constructor({ baseUrl = "", pingIntervalMs = 10000, maxBackoffMs = 15000, onStatus = () => {} } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.pingIntervalMs = pingIntervalMs;
    this.maxBackoffMs = maxBackoffMs;
    this.onStatus = onStatus;
    this.status = Status.OFFLINE;
    this._socket = null;
    this._attempt = 0;
    this._timers = { ping: null, reconnect: null };
    this._closed = false;
    this._listeners = new Map(); // listenerGuid -> {topic, symbol, resolution, onTick, lastTime}
    this._quoteListeners = new Map(); // listenerGuid -> interval id
  }

  // --- REST -------------------------------------------------------------------------------

  async _get(path, params = {}) {
    const url = this._url(path);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
    return this._json(await this._fetch(url));
  }

  _url(path) {
    return new URL(this.baseUrl + path, this._origin());
  }

  /** `fetch` whose failure to get any answer is a DatafeedError with code NETWORK. */
  async _fetch(url, init) {
    try {
      return await fetch(url, init);
    } catch {
      throw new DatafeedError(`Server unreachable: no answer from ${url.origin}`, ErrorCode.NETWORK);
    }
  }

  /** The JSON body of a 2xx answer; otherwise a DatafeedError with the server's `detail`. */
  async _json(response) {
    const body = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
    if (!response.ok) {
      const code = response.status === 404 ? ErrorCode.UNKNOWN_SYMBOL : ErrorCode.HTTP;
      throw new DatafeedError(body.detail || body.errmsg || `HTTP ${response.status}`, code, response.status);
    }
    return body;
  }

  _origin() {
    return globalThis.location ? globalThis.location.href : "http://localhost/";
  }

  onReady(callback) {
    this._get(`${API}/config`).then((config) => setTimeout(() => callback(config), 0));
  }

  searchSymbols(userInput, exchange, symbolType, onResult) {
    this._get(`${API}/search`, { user_input: userInput, exchange: exchange || "", symbol_type: symbolType || "" })
      .then(onResult)
      .catch(() => onResult([]));
  }

  resolveSymbol(symbolName, onResolve, onError) {
    this._get(`${API}/resolve/${encodeURIComponent(symbolName)}`)
      .then((info) => setTimeout(() => onResolve(info), 0))
      .catch((error) => onError(error instanceof DatafeedError ? error.code : String(error)));
  }

  /** Bars in [from, to) seconds, extended back to countBack; times in ms as the library expects. */
  getBars(symbolInfo, resolution, periodParams, onResult, onError) {
    const { from, to, countBack = 0 } = periodParams;
    this.fetchBars(symbolInfo.ticker || symbolInfo.name, resolution, from, to, countBack)
      .then(({ bars, noData }) => onResult(bars, { noData }))
      .catch((error) => onError(error.message));
  }

  /** The same request as a promise: `{bars, noData}`. */
  async fetchBars(symbol, resolution, from, to, countBack = 0) {
    const body = await this._get(`${API}/bars`, {
      symbol,
      resolution,
      from_time: Math.max(0, Math.floor(from)),
      to_time: Math.max(0, Math.ceil(to)),
      count_back: countBack,
    });
    return { bars: body.bars, noData: body.no_data };
  }

  /** The server's clock in seconds; without an answer the callback is not called (the library keeps its own). */
  getServerTime(callback) {
    this._fetch(this._url(UDF_TIME))
      .then((response) => response.text())
      .then((text) => callback(Number(text)))
      .catch(() => {});
  }

  getQuotes(symbols, onData, onError) {
    this._fetch(this._url(`${API}/quotes`), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ symbols }),
    })
      .then((response) => this._json(response))
      .then(onData)
      .catch((error) => onError(error.message));
  }

  /** Quotes have no WebSocket topic: they are polled while someone listens. */
  subscribeQuotes(symbols, fastSymbols, onRealtime, listenerGuid) {
    const all = [...new Set([...symbols, ...fastSymbols])];
    const poll = () => this.getQuotes(all, onRealtime, () => {});
    poll();
    this._quoteListeners.set(listenerGuid, setInterval(poll, QUOTES_EVERY_MS));
  }

  unsubscribeQuotes(listenerGuid) {
    clearInterval(this._quoteListeners.get(listenerGuid));
    this._quoteListeners.delete(listenerGuid);
  }

  // --- WebSocket --------------------------------------------------------------------------

  subscribeBars(symbolInfo, resolution, onTick, listenerGuid) {
    const symbol = (symbolInfo.ticker || symbolInfo.name).toUpperCase();
    const topic = `bars:${symbol}:${normaliseResolution(resolution)}`;
    this._listeners.set(listenerGuid, { topic, symbol, resolution, onTick, lastTime: null });
    if (this._topicListeners(topic).length === 1) this._send("bars.subscribe", { symbol, resolution });
    this._connect();
  }

  unsubscribeBars(listenerGuid) {
    const listener = this._listeners.get(listenerGuid);
    if (!listener) return;
    this._listeners.delete(listenerGuid);
    if (this._topicListeners(listener.topic).length === 0) {
      this._send("bars.unsubscribe", { symbol: listener.symbol, resolution: listener.resolution });
    }
  }

  /** Stop everything: the socket, reconnection, quote polling. */
  close() {
    this._closed = true;
    clearTimeout(this._timers.reconnect);
    clearInterval(this._timers.ping);
    for (const id of this._quoteListeners.values()) clearInterval(id);
    this._quoteListeners.clear();
    if (this._socket) this._socket.close(1000);
    this._setStatus(Status.OFFLINE);
  }

  _topicListeners(topic) {
    return [...this._listeners.values()].filter((listener) => listener.topic === topic);
  }

  _connect() {
    if (this._socket || this._closed) return;
    const url = this._url(WS_PATH);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    this._socket = socket;
    this._setStatus(this._attempt ? Status.RECONNECTING : Status.CONNECTING);
    socket.onopen = () => {
      const reconnected = this._attempt > 0;
      this._attempt = 0;
      this._setStatus(Status.CONNECTED);
      this._timers.ping = setInterval(() => this._send("ping", {}), this.pingIntervalMs);
      const topics = new Map();
      for (const listener of this._listeners.values()) topics.set(listener.topic, listener);
      for (const { symbol, resolution } of topics.values()) this._send("bars.subscribe", { symbol, resolution });
      if (reconnected) this._fillGaps();
    };
    socket.onmessage = (event) => this._receive(event.data);
    // Browsers follow `error` with `close`; Node 20's WebSocket reports a refused connection with `error`
    // alone and stays CONNECTING (nodejs/undici#3506). Either event ends this socket, once.
    socket.onerror = socket.onclose = () => {
      if (this._socket !== socket) return;
      clearInterval(this._timers.ping);
      this._socket = null;
      if (this._closed) return;
      this._attempt += 1;
      this._setStatus(this._attempt > 3 ? Status.OFFLINE : Status.RECONNECTING);
      const backoff = Math.min(this.maxBackoffMs, 250 * 2 ** (this._attempt - 1));
      this._timers.reconnect = setTimeout(() => this._connect(), backoff * (0.75 + Math.random() / 2));
    };
  }

  _send(type, payload) {
    if (this._socket && this._socket.readyState === 1) this._socket.send(JSON.stringify({ type, payload }));
  }

  _receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type !== "bars.update") return;
    for (const listener of this._listeners.values()) {
      if (listener.topic === message.topic) this._deliver(listener, message.payload);
    }
  }

  /** Per listener, time never goes backwards: equal time replaces the forming bar, later appends. */
  _deliver(listener, bar) {
    if (listener.lastTime !== null && bar.time < listener.lastTime) return;
    listener.lastTime = bar.time;
    listener.onTick(bar);
  }

  /** After a reconnection, bars that formed while the socket was down come from REST, in order. */
  async _fillGaps() {
    const nowSeconds = Date.now() / 1000 + 60;
    for (const listener of [...this._listeners.values()]) {
      if (listener.lastTime === null) continue;
      try {
        const { bars } = await this.fetchBars(listener.symbol, listener.resolution, listener.lastTime / 1000, nowSeconds);
        for (const bar of bars) this._deliver(listener, bar);
      } catch {
        // The socket's own updates continue; the next reconnection tries again.
      }
    }
  }

  _setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }
}

/** The server's canonical resolution names: aliases D/W/M become 1D/1W/1M. */
export function normaliseResolution(resolution) {
  const upper = String(resolution).toUpperCase();
  return { D: "1D", W: "1W", M: "1M" }[upper] || upper;
}
