/*
 * Sluice dashboard: live figures from the gateway over one WebSocket (/admin/live), drawn with
 * uPlot. No build step and no requests beyond the gateway itself.
 *
 * For the browser console: `sluice.state` (ticks, alerts, latest requests), `sluice.conn`
 * (connection), `sluice.charts` (id -> {u: the uPlot instance}).
 */
'use strict';

(() => {
  const WINDOW_S = 300;            // seconds of history drawn (the gateway keeps as many)
  const RATE_WINDOW = 10;          // seconds summed for the error and timeout rates
  const MAX_LATEST = 50;
  const SILENCE_MS = 15000;        // no message for this long (pings come every 10 s): the link is dead
  const CONNECT_TIMEOUT_MS = 10000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const STATUS_EVERY_MS = 15000;
  const FETCH_TIMEOUT_MS = 10000;
  const KEY_ITEM = 'sluice.adminKey';
  const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626',
    '#4b5563', '#a16207'];
  const LATENCY = [['p50', '#93c5fd', 1.5], ['p95', '#2563eb', 2], ['p99', '#1e3a8a', 1.5]];
  const FIRST_TOKEN = [['p50', '#86efac', 1.5], ['p95', '#16a34a', 2], ['p99', '#14532d', 1.5]];

  const $ = (sel, root = document) => root.querySelector(sel);

  const state = {
    ticks: [],            // oldest first; each has byKey: Map("model on provider" -> series)
    colors: new Map(),    // series key -> colour, stable for the page's life
    alerts: new Map(),    // id -> alert
    latest: [],           // newest first
    gauges: null,         // the last tick (or hello's gauges): in_flight, deployments, request_log...
    status: null,         // GET /admin/status
    ticksSeen: 0,
    acking: new Set(),
    ackErrors: new Map(),
  };
  const conn = {
    ws: null, state: 'connecting', attempt: 0, generation: 0, timer: 0, retryAt: 0,
    openedAt: 0, lastMessage: 0, downSince: 0, statusTimer: 0,
  };
  let adminKey = loadKey();

  // ---- small helpers ------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  function setText(sel, text) {
    const e = typeof sel === 'string' ? $(sel) : sel;
    const t = String(text);
    if (e.textContent !== t) e.textContent = t;
  }

  function show(sel, visible) {
    $(sel).hidden = !visible;
  }

  const pad = n => String(n).padStart(2, '0');

  function clock(ms, millis = false) {
    const d = new Date(ms);
    const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return millis ? `${t}.${String(d.getMilliseconds()).padStart(3, '0')}` : t;
  }

  function when(ms) {
    const d = new Date(ms);
    return d.toDateString() === new Date().toDateString()
      ? clock(ms) : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}`;
  }

  const trim1 = v => String(+v.toFixed(1));
  const fmtRate = v => (v >= 10 ? String(Math.round(v)) : trim1(v));
  const fmtCount = v => (Number.isInteger(v) ? String(v) : trim1(v));
  const fmtPct = v => (v >= 10 || v === 0 ? Math.round(v) : trim1(v)) + '%';
  const fmtMs = v => (v >= 1000 ? trim1(v / 1000) + ' s' : (v >= 10 ? Math.round(v) : trim1(v)) + ' ms');

  function loadKey() {
    try {
      return localStorage.getItem(KEY_ITEM) || '';
    } catch {
      return '';
    }
  }

  function saveKey(k) {
    try {
      if (k) localStorage.setItem(KEY_ITEM, k);
      else localStorage.removeItem(KEY_ITEM);
    } catch {
      // storage unavailable (private window): the key lives as long as the page
    }
  }

  function announce(message) {
    const e = $('#announce');
    e.textContent = '';
    setTimeout(() => { e.textContent = message; }, 50);
  }

  // ---- talking to the gateway ---------------------------------------------------------------

  /** Admin URLs relative to the page (served at <base>/ui/), so a path prefix in front of the gateway works. */
  const adminUrl = path => new URL('../admin/' + path, location.href);

  function liveUrl() {
    const u = adminUrl('live');
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.href;
  }

  /**
   * A WebSocket cannot carry an Authorization header, and a key in its URL would land in the access
   * log of any proxy in front of the gateway: the key goes among the subprotocols offered instead
   * (base64url, as a protocol name allows only some characters); the gateway picks 'sluice.live'.
   */
  function liveProtocols() {
    if (!adminKey) return ['sluice.live'];
    let bytes = '';
    for (const b of new TextEncoder().encode(adminKey)) bytes += String.fromCharCode(b);
    return ['sluice.live', 'sluice.key.' + btoa(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')];
  }

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers);
    if (adminKey) headers.set('Authorization', 'Bearer ' + adminKey);
    const signal = AbortSignal.timeout ? AbortSignal.timeout(FETCH_TIMEOUT_MS) : undefined;
    const r = await fetch(adminUrl(path), { ...init, headers, signal, cache: 'no-store' });
    if (r.ok) return r.json();
    let message = `${r.status} ${r.statusText}`;
    try {
      message = (await r.json()).error.message || message;
    } catch {
      // not the gateway's JSON error
    }
    if (r.status === 401) needKey();
    else if (r.status === 403) forbidden(message);
    throw new HttpError(r.status, message);
  }

  // ---- the live connection ------------------------------------------------------------------

  function connect() {
    clearTimeout(conn.timer);
    closeSocket();
    const generation = ++conn.generation;
    setConn('connecting');
    let ws;
    try {
      ws = new WebSocket(liveUrl(), liveProtocols());
    } catch {
      lost(generation, false);
      return;
    }
    let opened = false;
    conn.ws = ws;
    conn.openedAt = Date.now();
    conn.lastMessage = 0;
    ws.onopen = () => {
      opened = true;
      conn.lastMessage = Date.now();
    };
    ws.onmessage = ev => {
      if (conn.ws === ws) {
        conn.lastMessage = Date.now();
        receive(ev.data);
      }
    };
    ws.onclose = () => {
      if (conn.ws === ws) {
        conn.ws = null;
        lost(generation, opened);
      }
    };
  }

  function closeSocket() {
    const ws = conn.ws;
    conn.ws = null;
    if (ws) ws.close();
  }

  /** The socket closed, failed to open, or went silent. */
  async function lost(generation, opened) {
    clearTimeout(conn.statusTimer);
    if (!conn.downSince && opened) conn.downSince = Date.now(); // a live view was lost (not a first attempt)
    document.body.classList.add('stale');
    if (!opened) {
      // The upgrade was refused or the gateway is down: a WebSocket cannot see why, a fetch can.
      try {
        await api('status');
      } catch (e) {
        if (e.status === 401) return; // needKey() asked for the key; connecting waits for it
      }
      if (generation !== conn.generation || conn.state === 'auth') return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(conn.timer);
    if (!navigator.onLine) {
      setConn('offline'); // the 'online' event reconnects
      return;
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** conn.attempt);
    conn.attempt = Math.min(conn.attempt + 1, 10);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter, so many pages do not retry in step
    conn.retryAt = Date.now() + delay;
    conn.timer = setTimeout(connect, delay);
    setConn('reconnecting');
  }

  function setConn(s) {
    conn.state = s;
    if (s === 'connected') {
      conn.downSince = 0;
      document.body.classList.remove('stale');
    }
    showConn();
  }

  function showConn() {
    const down = conn.downSince !== 0;
    let label;
    let detail = '';
    switch (conn.state) {
      case 'connected':
        label = 'Connected';
        break;
      case 'connecting':
        label = down ? 'Disconnected' : 'Connecting…';
        detail = down ? 'reconnecting now…' : '';
        break;
      case 'reconnecting':
        label = 'Disconnected';
        detail = `reconnecting in ${Math.max(1, Math.ceil((conn.retryAt - Date.now()) / 1000))} s`;
        break;
      case 'offline':
        label = 'Offline';
        detail = 'waiting for the network';
        break;
      default:
        label = 'Admin key needed';
    }
    if (down && conn.state !== 'auth') detail += ` · since ${clock(conn.downSince)}`;
    const el = $('#conn');
    setText(el, label);
    el.dataset.state = conn.state;
    setText('#conn-detail', detail);
    document.body.dataset.conn = conn.state;
    $('#reconnect-now').hidden = !(conn.state === 'reconnecting' || conn.state === 'offline');
    $('#forget-key').hidden = !adminKey;
  }

  // A connection can die without closing (a sleeping laptop, a dropped NAT entry): the gateway
  // sends something at least every 10 s, so silence means the link is gone.
  setInterval(() => {
    const ws = conn.ws;
    const now = Date.now();
    if (ws && ws.readyState === WebSocket.OPEN && conn.lastMessage && now - conn.lastMessage > SILENCE_MS) {
      closeSocket();
      lost(conn.generation, true);
    } else if (ws && ws.readyState === WebSocket.CONNECTING && now - conn.openedAt > CONNECT_TIMEOUT_MS) {
      closeSocket();
      lost(conn.generation, false);
    }
    if (conn.state === 'reconnecting') showConn();
  }, 500);

  addEventListener('offline', () => {
    if (conn.state === 'reconnecting') {
      clearTimeout(conn.timer);
      setConn('offline');
    }
  });
  addEventListener('online', () => {
    if (conn.state === 'offline') {
      conn.attempt = 0;
      connect();
    }
  });

  $('#reconnect-now').addEventListener('click', () => {
    conn.attempt = 0;
    connect();
  });

  function needKey() {
    clearTimeout(conn.timer);
    closeSocket();
    conn.generation++;
    const wasShown = !$('#auth').hidden;
    setConn('auth');
    setText('#auth-msg', adminKey
      ? 'The gateway refused the stored admin key. Enter the current one; it is kept in this browser.'
      : 'This gateway has an admin key. Enter it to see the dashboard; it is kept in this browser.');
    show('#auth', true);
    show('#forbidden', false);
    if (!wasShown) $('#auth-key').focus();
  }

  function forbidden(message) {
    setText('#forbidden-msg', `${message}. Open the dashboard from the gateway's own machine, `
      + 'or start the gateway with SLUICE_ADMIN_KEY set and enter that key here.');
    show('#forbidden', true);
  }

  $('#auth-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const k = $('#auth-key').value.trim();
    if (!k) return;
    adminKey = k;
    saveKey(k);
    $('#auth-key').value = '';
    show('#auth', false);
    conn.attempt = 0;
    connect();
  });

  $('#forget-key').addEventListener('click', () => {
    adminKey = '';
    saveKey('');
    conn.attempt = 0;
    connect();
  });

  // ---- messages -----------------------------------------------------------------------------

  function receive(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.type === 'hello') hello(m);
    else if (m.type === 'tick') tick(m);
    else if (m.type === 'alert' && m.alert) alertChanged(m.alert, m.oldest);
    else if (m.type === 'alerts' && m.alerts) alertsResent(m.alerts);
  }

  const keyOf = s => `${s.model} on ${s.provider}`;

  function prepare(t) {
    delete t.latest;
    t.byKey = new Map((t.series || []).map(s => [keyOf(s), s]));
    return t;
  }

  /** A (re)connection: everything is rebuilt from the gateway's own history. */
  function hello(m) {
    conn.attempt = 0;
    show('#auth', false);
    show('#forbidden', false);
    setText('#version', !m.version ? '' : /^\d/.test(m.version) ? `v${m.version}` : m.version);
    state.ticks = (m.history || []).map(prepare).slice(-WINDOW_S);
    state.alerts = new Map((m.alerts || []).map(a => [a.id, a]));
    alertNodes.clear(); // ids start again on a restarted gateway
    state.ackErrors.clear();
    state.gauges = m.gauges || state.ticks.at(-1) || null;
    setConn('connected');
    renderAlerts();
    render();
    refreshStatus();
    if (state.latest.length === 0) loadRecent();
  }

  function tick(m) {
    const latest = m.latest || [];
    state.ticks.push(prepare(m));
    if (state.ticks.length > WINDOW_S) state.ticks.splice(0, state.ticks.length - WINDOW_S);
    state.gauges = m;
    state.ticksSeen++;
    if (latest.length) {
      for (const r of latest) state.latest.unshift(r); // latest is oldest first
      state.latest.length = Math.min(state.latest.length, MAX_LATEST);
      latestDirty = true;
    }
    scheduleRender();
  }

  function alertChanged(a, oldest) {
    const before = state.alerts.get(a.id);
    state.alerts.set(a.id, a);
    if (oldest > 0) { // the gateway let go of older alerts: so does the page (ids only grow)
      for (const id of state.alerts.keys()) if (id < oldest) state.alerts.delete(id);
    }
    if (!before && !a.resolved_at) announce(`New ${a.severity} alert: ${a.message}`);
    renderAlerts();
  }

  /** The whole list again: this page missed some changes (it could not keep up for a while). */
  function alertsResent(list) {
    const fresh = list.filter(a => !a.resolved_at && !state.alerts.has(a.id));
    state.alerts = new Map(list.map(a => [a.id, a]));
    if (fresh.length === 1) announce(`New ${fresh[0].severity} alert: ${fresh[0].message}`);
    else if (fresh.length > 1) announce(`${fresh.length} new alerts`);
    renderAlerts();
  }

  async function refreshStatus() {
    clearTimeout(conn.statusTimer);
    const generation = conn.generation;
    try {
      state.status = await api('status');
      renderGauges();
    } catch {
      // shown by the connection state or the key prompt
    }
    if (conn.state === 'connected' && generation === conn.generation) { // one refresh loop per connection
      conn.statusTimer = setTimeout(refreshStatus, STATUS_EVERY_MS);
    }
  }

  /** Fills the table before the first live requests, from the request log (when there is one). */
  async function loadRecent() {
    try {
      const page = await api(`requests?limit=${MAX_LATEST}`);
      if (state.latest.length === 0) {
        state.latest = page.data.map(r => ({ ...r, id: r.request_id ?? r.id }));
        latestDirty = true;
        scheduleRender();
      }
    } catch {
      // no request log on this gateway: live rows fill the table
    }
  }

  // ---- rendering ----------------------------------------------------------------------------

  let renderPending = false;
  let latestDirty = true;
  let deploymentsShown = '';

  function scheduleRender() {
    if (!renderPending) {
      renderPending = true;
      requestAnimationFrame(() => {
        renderPending = false;
        render();
      });
    }
  }

  function render() {
    renderGauges();
    renderCharts();
    renderDeployments();
    if (latestDirty) renderLatest();
  }

  function color(key) {
    if (!state.colors.has(key)) state.colors.set(key, PALETTE[state.colors.size % PALETTE.length]);
    return state.colors.get(key);
  }

  function renderGauges() {
    const g = state.gauges || {};
    const last = state.ticks.at(-1);
    setText('#g-rate', last ? fmtRate(last.requests) : '–');
    setText('#g-inflight', g.in_flight ?? '–');
    show('#g-queue-box', g.queue_depth != null);
    if (g.queue_depth != null) setText('#g-queue', g.queue_depth);
    const health = g.request_log || 'unknown';
    const log = state.status && state.status.request_log;
    const el = $('#g-log');
    setText(el, log && log.dropped > 0 ? `${health}, ${log.dropped} dropped` : health);
    el.className = `badge log-${health}`;
    el.title = !log || !log.enabled ? 'no request log on this gateway'
      : `${log.store}: ${log.written} written, ${log.pending} pending, ${log.dropped} dropped`
        + (log.last_error ? `; last error: ${log.last_error}` : '');
  }

  function renderCharts() {
    const t = state.ticks;
    const xs = t.map(k => k.ts / 1000);
    const keys = [...new Set(t.flatMap(k => [...k.byKey.keys()]))].sort();
    plot('requests', $('#plot-requests'), xs, fmtRate, [
      { label: 'all', stroke: '#334155', width: 2, values: t.map(k => k.requests) },
      ...keys.map(k => ({ label: k, stroke: color(k), values: t.map(tk => tk.byKey.get(k)?.requests ?? 0) })),
    ]);
    plot('errors', $('#plot-errors'), xs, fmtPct,
      keys.map(k => ({ label: k, stroke: color(k), values: rolling(t, k, 'errors') })), { max: 100 });
    plot('timeouts', $('#plot-timeouts'), xs, fmtPct,
      keys.map(k => ({ label: k, stroke: color(k), values: rolling(t, k, 'timeouts') })), { max: 100 });
    const concurrency = [{ label: 'in flight', stroke: '#334155', width: 2, values: t.map(k => k.in_flight ?? null) }];
    if (t.some(k => k.queue_depth != null)) {
      concurrency.push({ label: 'queued', stroke: '#d97706', values: t.map(k => k.queue_depth ?? null) });
    }
    plot('concurrency', $('#plot-concurrency'), xs, fmtCount, concurrency);
    renderLatency(keys, xs);
  }

  /** Percent of a series' requests with {@code field} over the last RATE_WINDOW seconds; null without requests. */
  function rolling(t, key, field) {
    const out = new Array(t.length);
    let n = 0;
    let bad = 0;
    for (let i = 0; i < t.length; i++) {
      const s = t[i].byKey.get(key);
      if (s) {
        n += s.requests;
        bad += s[field];
      }
      const gone = i >= RATE_WINDOW ? t[i - RATE_WINDOW].byKey.get(key) : null;
      if (gone) {
        n -= gone.requests;
        bad -= gone[field];
      }
      out[i] = n > 0 ? (100 * bad) / n : null;
    }
    return out;
  }

  const cards = new Map(); // series key -> {el, latency, firstToken}

  function renderLatency(keys, xs) {
    const box = $('#latency-cards');
    for (const [k, c] of cards) {
      if (!keys.includes(k)) {
        unplot(`latency:${k}`);
        unplot(`first-token:${k}`);
        c.el.remove();
        cards.delete(k);
      }
    }
    keys.forEach((k, i) => {
      let c = cards.get(k);
      if (!c) {
        c = latencyCard(k);
        cards.set(k, c);
      }
      if (box.children[i] !== c.el) box.insertBefore(c.el, box.children[i] || null);
      const pick = (field, p) => state.ticks.map(tk => tk.byKey.get(k)?.[field]?.[p] ?? null);
      plot(`latency:${k}`, c.latency, xs, fmtMs,
        LATENCY.map(([p, stroke, width]) => ({ label: p, stroke, width, spanGaps: true, values: pick('latency_ms', p) })));
      plot(`first-token:${k}`, c.firstToken, xs, fmtMs,
        FIRST_TOKEN.map(([p, stroke, width]) => ({ label: p, stroke, width, spanGaps: true, values: pick('first_token_ms', p) })));
    });
    show('#latency-empty', keys.length === 0);
  }

  let cardIds = 0;

  function latencyCard(key) {
    const id = `series-${++cardIds}`;
    const latency = h('div', { class: 'plot', role: 'img', 'data-title': `Latency of ${key}` });
    const firstToken = h('div', { class: 'plot', role: 'img', 'data-title': `Time to first token of ${key}` });
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = color(key);
    const el = h('article', { class: 'card', 'aria-labelledby': id },
      h('h3', { id }, swatch, key),
      h('div', { class: 'charts pair' },
        h('figure', { class: 'chart' }, h('figcaption', { text: 'Latency' }), latency),
        h('figure', { class: 'chart' }, h('figcaption', { text: 'First token' }), firstToken)));
    return { el, latency, firstToken };
  }

  // ---- charts -------------------------------------------------------------------------------

  const charts = new Map(); // id -> {u, sig, el, height}
  const resizer = new ResizeObserver(entries => {
    for (const e of entries) {
      const c = charts.get(e.target.dataset.chart);
      const width = Math.floor(e.contentRect.width);
      if (c && width > 0 && width !== c.u.width) c.u.setSize({ width, height: c.height });
    }
  });

  const lastX = () => (state.ticks.length ? state.ticks.at(-1).ts : Date.now()) / 1000;

  /** The last WINDOW_S seconds, but at least a minute, so a young history is not squeezed into a sliver. */
  function xRange() {
    const end = lastX();
    const start = state.ticks.length ? state.ticks[0].ts / 1000 : end;
    return [end - Math.min(WINDOW_S, Math.max(60, end - start)), end];
  }

  function lastValue(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i];
    return null;
  }

  function yRange(max, cap) {
    if (!(max > 0)) return [0, cap ? Math.min(cap, 10) : 1];
    const top = uPlot.rangeNum(0, max, 0.1, true)[1];
    return [0, cap ? Math.min(cap, top) : top];
  }

  function chartOptions(defs, fmt, width, height, opts) {
    const axis = {
      stroke: '#64748b',
      font: '11px system-ui, sans-serif',
      grid: { stroke: '#e5e7eb', width: 1 },
      ticks: { stroke: '#e5e7eb', width: 1, size: 4 },
    };
    let pinning = false;
    return {
      width,
      height,
      cursor: { drag: { x: false, y: false } },
      hooks: {
        // uPlot blanks the legend when the pointer is not on the chart: show the newest values instead
        setLegend: [u => {
          if (pinning || u.cursor.idx != null || u.data[0].length === 0) return;
          pinning = true;
          try {
            u.setLegend({ idx: u.data[0].length - 1 });
          } finally {
            pinning = false;
          }
        }],
      },
      scales: {
        x: { time: true, range: xRange },
        y: { range: (u, min, max) => yRange(max, opts.max) },
      },
      axes: [
        { ...axis, space: 70, values: (u, splits, ax, space, incr) => splits.map(v => clock(v * 1000).slice(0, incr < 60 ? 8 : 5)) },
        { ...axis, size: 56, values: (u, splits) => splits.map(fmt) },
      ],
      series: [
        { label: 'time', value: '{HH}:{mm}:{ss}' },
        ...defs.map(d => ({
          label: d.label,
          stroke: d.stroke,
          width: d.width || 1.5,
          spanGaps: !!d.spanGaps,
          points: { show: false },
          // at the newest point (the legend when the pointer is elsewhere) a gap shows the last value seen
          value: (u, v, si, idx) => {
            const shown = v == null && idx === u.data[0].length - 1 ? lastValue(u.data[si]) : v;
            return shown == null ? '–' : fmt(shown);
          },
        })),
      ],
    };
  }

  function plot(id, el, xs, fmt, defs, opts = {}) {
    const sig = defs.map(d => d.label + d.stroke).join('|');
    let c = charts.get(id);
    if (c && c.sig !== sig) {
      unplot(id);
      c = null;
    }
    const data = [xs, ...defs.map(d => d.values)];
    if (!c) {
      const height = opts.height || 160;
      el.dataset.chart = id;
      el.dataset.title ??= el.getAttribute('aria-label') || id;
      c = { u: new uPlot(chartOptions(defs, fmt, el.clientWidth || 300, height, opts), data, el), sig, el, height };
      charts.set(id, c);
      resizer.observe(el);
    } else {
      c.u.setData(data);
    }
    const latest = d => {
      const v = lastValue(d.values);
      return v == null ? 'no data' : fmt(v);
    };
    el.setAttribute('aria-label', `${el.dataset.title}, latest: ${defs.map(d => `${d.label} ${latest(d)}`).join('; ')}`);
  }

  function unplot(id) {
    const c = charts.get(id);
    if (c) {
      resizer.unobserve(c.el);
      c.u.destroy();
      charts.delete(id);
    }
  }

  // ---- tables -------------------------------------------------------------------------------

  function renderDeployments() {
    const ds = (state.gauges && state.gauges.deployments) || [];
    const shown = JSON.stringify(ds);
    if (shown === deploymentsShown) return;
    deploymentsShown = shown;
    const hasLimit = ds.some(d => d.limit != null);
    const hasQueue = ds.some(d => d.queue_depth != null);
    for (const e of document.querySelectorAll('#deployments .col-limit')) e.hidden = !hasLimit;
    for (const e of document.querySelectorAll('#deployments .col-queue')) e.hidden = !hasQueue;
    $('#deployments tbody').replaceChildren(...ds.map(d => {
      const breaker = h('td', {}, h('span', { class: `badge breaker-${d.breaker}`, text: String(d.breaker).replace('_', ' ') }));
      if (d.resting) breaker.append(' ', h('span', { class: 'badge resting', text: 'resting' }));
      return h('tr', {},
        h('th', { scope: 'row', text: d.id }),
        h('td', { text: d.provider }),
        breaker,
        h('td', { class: 'num', text: d.in_flight }),
        hasLimit ? h('td', { class: 'num', text: d.limit ?? '–' }) : null,
        hasQueue ? h('td', { class: 'num', text: d.queue_depth ?? '–' }) : null);
    }));
  }

  function renderLatest() {
    latestDirty = false;
    const ms = v => (v == null || v < 0 ? '–' : fmtMs(v));
    $('#latest tbody').replaceChildren(...state.latest.map(r => {
      const outcome = h('td', {}, h('span', { class: `badge outcome-${r.outcome}`, text: String(r.outcome).replace('_', ' ') }));
      if (r.error_type && r.error_type !== r.outcome) outcome.append(' ', h('span', { class: 'muted small', text: r.error_type }));
      return h('tr', {},
        h('td', { text: clock(r.ts, true), title: new Date(r.ts).toISOString() }),
        h('td', { text: r.model ?? '–' }),
        h('td', { text: r.deployment ?? '–' }),
        h('td', { class: 'num', text: r.status }),
        outcome,
        h('td', { class: 'num', text: ms(r.latency_ms) }),
        h('td', { class: 'num', text: ms(r.first_token_ms) }),
        h('td', { class: 'num', text: r.attempts ?? '–' }),
        h('td', { text: r.stream ? 'yes' : 'no' }));
    }));
    show('#latest-empty', state.latest.length === 0);
  }

  // ---- alerts -------------------------------------------------------------------------------

  const alertNodes = new Map(); // id -> {li, sig}

  function renderAlerts() {
    const severity = $('#f-severity').value;
    const category = $('#f-category').value;
    const acked = $('#f-ack').value;
    const all = [...state.alerts.values()].sort((a, b) => b.id - a.id);

    const select = $('#f-category');
    const categories = [...new Set(all.map(a => a.category).concat(category ? [category] : []))].sort();
    const have = [...select.options].slice(1).map(o => o.value);
    if (have.join('\n') !== categories.join('\n')) {
      select.replaceChildren(h('option', { value: '', text: 'all' }),
        ...categories.map(c => h('option', { value: c, text: c })));
      select.value = category;
    }

    const shown = all.filter(a => (!severity || a.severity === severity)
      && (!category || a.category === category)
      && (!acked || String(a.acknowledged) === acked)).slice(0, 100);
    // Keyed: an item is replaced only when its alert changed, so a button being pressed (or
    // focused) is not swapped out from under the pointer when some other alert arrives.
    const list = $('#alert-list');
    const focused = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.closest('[data-alert]')?.dataset.alert : null;
    const items = shown.map(a => {
      const sig = JSON.stringify([a, state.acking.has(a.id), state.ackErrors.get(a.id) ?? null]);
      let n = alertNodes.get(a.id);
      if (!n || n.sig !== sig) {
        n = { li: alertItem(a), sig };
        alertNodes.set(a.id, n);
      }
      return n.li;
    });
    for (const id of alertNodes.keys()) if (!state.alerts.has(id)) alertNodes.delete(id);
    if (items.length !== list.children.length || items.some((li, i) => list.children[i] !== li)) {
      list.replaceChildren(...items);
    }
    if (focused && !list.contains(document.activeElement)) {
      const item = list.querySelector(`[data-alert="${focused}"]`);
      (item && (item.querySelector('button') || item))?.focus();
    }

    const open = all.filter(a => !a.resolved_at);
    const unacked = open.filter(a => !a.acknowledged).length;
    setText('#alert-count', all.length ? `${open.length} open, ${unacked} not acknowledged` : '');
    setText('#alert-empty', all.length ? 'No alerts match these filters.' : 'No alerts.');
    show('#alert-empty', shown.length === 0);
  }

  function alertItem(a) {
    const busy = state.acking.has(a.id);
    const error = state.ackErrors.get(a.id);
    const times = `raised ${when(a.raised_at)}${a.resolved_at ? `, resolved ${when(a.resolved_at)}` : ', still open'}`;
    return h('li', {
      class: `alert sev-${a.severity}${a.resolved_at ? ' resolved' : ''}${a.acknowledged ? ' acked' : ''}`,
      'data-alert': a.id,
      tabindex: '-1',
    },
    h('div', { class: 'alert-head' },
      h('span', { class: `badge sev-${a.severity}`, text: a.severity }),
      h('span', { class: 'badge category', text: a.category }),
      h('strong', { text: a.subject })),
    h('p', { class: 'alert-message', text: a.message }),
    h('div', { class: 'alert-foot' },
      h('span', { class: 'muted small', text: times }),
      a.acknowledged
        ? h('span', { class: 'acked-note', text: '✓ acknowledged' })
        : h('button', {
          type: 'button',
          class: 'ack',
          'data-ack': a.id,
          disabled: busy,
          'aria-label': `Acknowledge ${a.severity} alert: ${a.message}`,
          text: busy ? 'Acknowledging…' : 'Acknowledge',
        })),
    error ? h('p', { class: 'error small', role: 'alert', text: `Could not acknowledge: ${error}` }) : null);
  }

  $('#alert-list').addEventListener('click', async ev => {
    const button = ev.target.closest('button[data-ack]');
    if (!button || button.disabled) return;
    const id = Number(button.dataset.ack);
    state.acking.add(id);
    state.ackErrors.delete(id);
    renderAlerts();
    try {
      await api(`alerts/${id}/ack`, { method: 'POST' });
      const a = state.alerts.get(id);
      if (a) state.alerts.set(id, { ...a, acknowledged: true }); // the broadcast says so too
    } catch (e) {
      state.ackErrors.set(id, e.message);
    } finally {
      state.acking.delete(id);
      renderAlerts();
    }
  });

  $('#alert-filters').addEventListener('change', renderAlerts);
  $('#alert-filters').addEventListener('submit', ev => ev.preventDefault());

  window.sluice = Object.freeze({ state, conn, charts, reconnect: connect });
  showConn();
  render();
  renderAlerts();
  connect();
})();
