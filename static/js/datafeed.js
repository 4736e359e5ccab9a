// TradingView's JS Datafeed API over Trading Pro's REST datafeed and WebSocket bar feed.
//
// Hand an instance to a TradingView Charting Library widget (`datafeed: new Datafeed()`) or use it
// directly, as our chart page does. One WebSocket carries every subscription; it pings inside the
// heartbeat interval, reconnects with backoff and re-subscribes. Every subscription carries `since`, the
// newest bar the listener holds (from getBars, or from the stream before a reconnection), so the server
// first sends every bar from there with its final values: nothing is missed or left partial, and a
// listener never sees time go backwards. Requests TradingView gives no error callback (onReady,
// getServerTime) are retried with backoff until they succeed; their failures go to `onStatus`.

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
   * @param {(status: string, error?: DatafeedError) => void} [options.onStatus] connection state changes;
   *   `error` says why when a request that has no error callback failed (it is retried)
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
    this._retryTimers = new Set();
    this._closed = false;
    // listenerGuid -> {topic, symbol, resolution, onTick, onReset, since, lastTime}
    this._listeners = new Map();
    this._quoteListeners = new Map(); // listenerGuid -> interval id
    this._newestFetched = new Map(); // topic -> time (ms) of the newest bar fetchBars returned
    this._sentSince = new Map(); // topic -> the since of its pending bars.subscribe
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

  /** The configuration; retried with backoff until the server answers (TradingView gives no error callback). */
  onReady(callback) {
    this._retry(() => this._get(`${API}/config`)).then((config) => setTimeout(() => callback(config), 0));
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

  /** The same request as a promise: `{bars, noData}`. The newest bar is where a subscription will start. */
  async fetchBars(symbol, resolution, from, to, countBack = 0) {
    const body = await this._get(`${API}/bars`, {
      symbol,
      resolution,
      from_time: Math.max(0, Math.floor(from)),
      to_time: Math.max(0, Math.ceil(to)),
      count_back: countBack,
    });
    if (body.bars.length) {
      const topic = topicOf(symbol, resolution);
      const newest = body.bars[body.bars.length - 1].time;
      this._newestFetched.set(topic, Math.max(newest, this._newestFetched.get(topic) ?? newest));
    }
    return { bars: body.bars, noData: body.no_data };
  }

  /** The server's clock in seconds; retried with backoff until the server answers (no error callback either). */
  getServerTime(callback) {
    this._retry(async () => {
      const response = await this._fetch(this._url(UDF_TIME));
      const seconds = Number(await response.text());
      if (!response.ok || !Number.isFinite(seconds)) {
        throw new DatafeedError(`No server time: HTTP ${response.status}`, ErrorCode.HTTP, response.status);
      }
      return seconds;
    }).then(callback);
  }

  /**
   * `request()` until it succeeds, waiting longer after each failure (up to maxBackoffMs); each failure is
   * reported as OFFLINE with the error. After `close()` the promise never settles.
   */
  async _retry(request) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await request();
        if (attempt > 1 && this._socket && this._socket.readyState === 1) this._setStatus(Status.CONNECTED);
        return result;
      } catch (error) {
        if (this._closed) return new Promise(() => {});
        this._setStatus(Status.OFFLINE, error);
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            this._retryTimers.delete(timer);
            resolve();
          }, this._backoff(attempt));
          this._retryTimers.add(timer);
        });
      }
    }
  }

  _backoff(attempt) {
    return Math.min(this.maxBackoffMs, 250 * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
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

  /**
   * Live bars from the newest one fetchBars/getBars returned for this symbol and resolution (`since`), so a bar
   * that closed meanwhile arrives with its final values. `onResetCacheNeeded` is called when that bar is too
   * far back for the server to replay (the chart then loads history again).
   */
  subscribeBars(symbolInfo, resolution, onTick, listenerGuid, onResetCacheNeeded = () => {}) {
    const symbol = (symbolInfo.ticker || symbolInfo.name).toUpperCase();
    const topic = topicOf(symbol, resolution);
    const since = this._newestFetched.get(topic) ?? null;
    this._newestFetched.delete(topic);
    this._listeners.set(listenerGuid, { topic, symbol, resolution, onTick, onReset: onResetCacheNeeded, since, lastTime: null });
    if (this._topicListeners(topic).length === 1) {
      this._subscribe(topic);
    } else if (since !== null) {
      // The server answers a second subscribe to a held topic with ok and nothing else, so the newcomer's
      // bars since `since` come from subscribing again; the listeners already there ignore what they hold.
      this._send("bars.unsubscribe", { symbol, resolution: normaliseResolution(resolution) });
      this._subscribe(topic);
    }
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
    for (const timer of this._retryTimers) clearTimeout(timer);
    this._retryTimers.clear();
    for (const id of this._quoteListeners.values()) clearInterval(id);
    this._quoteListeners.clear();
    if (this._socket) this._socket.close(1000);
    this._setStatus(Status.OFFLINE);
  }

  _topicListeners(topic) {
    return [...this._listeners.values()].filter((listener) => listener.topic === topic);
  }

  /** `bars.subscribe` from the oldest of the topic's listeners' newest bars, so each of them misses nothing. */
  _subscribe(topic) {
    const listeners = this._topicListeners(topic);
    if (!listeners.length) return;
    const symbol = listeners[0].symbol;
    // Canonical, so that a refusal names the topic as this module does.
    const resolution = normaliseResolution(listeners[0].resolution);
    const held = listeners.map((listener) => listener.lastTime ?? listener.since).filter((time) => time !== null);
    if (held.length) {
      const since = Math.min(...held);
      this._sentSince.set(topic, since);
      this._send("bars.subscribe", { symbol, resolution, since });
    } else {
      this._sentSince.delete(topic);
      this._send("bars.subscribe", { symbol, resolution });
    }
  }

  _connect() {
    if (this._socket || this._closed) return;
    const url = this._url(WS_PATH);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    this._socket = socket;
    this._setStatus(this._attempt ? Status.RECONNECTING : Status.CONNECTING);
    socket.onopen = () => {
      this._attempt = 0;
      this._setStatus(Status.CONNECTED);
      this._timers.ping = setInterval(() => this._send("ping", {}), this.pingIntervalMs);
      for (const topic of new Set([...this._listeners.values()].map((listener) => listener.topic))) this._subscribe(topic);
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
      this._timers.reconnect = setTimeout(() => this._connect(), this._backoff(this._attempt));
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
    if (message.type === "bars.subscribe.response") {
      this._subscribed(message.payload);
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

  /**
   * A refused `since` (too far back for the server to replay): the listeners' charts reload history, and
   * the topic is followed from now. Other refusals (an unknown symbol) leave the listener without updates.
   */
  _subscribed({ status, topic }) {
    const since = this._sentSince.get(topic);
    this._sentSince.delete(topic);
    if (status !== "error" || since === undefined) return;
    const listeners = this._topicListeners(topic);
    for (const listener of listeners) {
      listener.since = null;
      listener.lastTime = null;
      listener.onReset();
    }
    this._subscribe(topic);
  }

  /** Report a change of state, and every failure of a retried request (at most one per backoff). */
  _setStatus(status, error) {
    if (status === this.status && !error) return;
    this.status = status;
    this.onStatus(status, error);
  }
}

/** The server's topic for a symbol (any case) at a resolution (any alias): `bars:SYMBOL:RESOLUTION`. */
function topicOf(symbol, resolution) {
  return `bars:${symbol.toUpperCase()}:${normaliseResolution(resolution)}`;
}

/** The server's canonical resolution names: aliases D/W/M become 1D/1W/1M. */
export function normaliseResolution(resolution) {
  const upper = String(resolution).toUpperCase();
  return { D: "1D", W: "1W", M: "1M" }[upper] || upper;
}
