'use strict';
// The Sluice console: one state JSON (GET /admin/console/state at load, then pushed by GET /admin/events every second
// and on node state changes) rendered into plain DOM and SVG. No external code; the page's CSP forbids it anyway.
// Changes go through the admin API with the session cookie and the X-Sluice-Console header.

const SVG = 'http://www.w3.org/2000/svg';
const OUTCOMES_DRAWN = ['ok', 'cached', 'downgraded', 'static', 'client_error', 'failed', 'cancelled'];
let lastState = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function num(v, digits) {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(digits || 0);
}

function clock(millis) {
  return new Date(millis).toLocaleTimeString([], { hour12: false });
}

function say(text, isError) {
  const m = document.getElementById('message');
  m.textContent = text;
  m.className = 'message' + (isError ? ' error' : '');
}

// ------------------------------------------------------------------ actions

async function post(path, body) {
  const resp = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'X-Sluice-Console': '1', 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  if (resp.status === 401) { window.location = '/console/login'; return null; }
  const json = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error((json.error && json.error.message) || ('HTTP ' + resp.status));
  return json;
}

async function act(action, node) {
  try {
    if (action === 'purge') {
      const r = await post('/admin/cache/purge');
      say('cache purged: ' + r.purged + ' entries');
    } else {
      await post('/admin/nodes/' + encodeURIComponent(node) + '/' + action);
      say(action + ' ' + node + ': done');
    }
    await load();
  } catch (e) {
    say(action + ' failed: ' + e.message, true);
  }
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b || b.type === 'submit') return;
  act(b.dataset.action, b.dataset.node);
});

document.getElementById('policy').addEventListener('change', async (ev) => {
  const policy = ev.target.value;
  try {
    const r = await post('/admin/routing', { policy });
    say('routing policy: ' + r.policy);
  } catch (e) {
    say('policy switch failed: ' + e.message, true);
    if (lastState) renderPolicy(lastState.routing);
  }
});

// ------------------------------------------------------------------ rendering

function renderPolicy(routing) {
  const select = document.getElementById('policy');
  if (document.activeElement === select) return;
  if (select.options.length !== routing.policies.length) {
    select.replaceChildren(...routing.policies.map((p) => el('option', { value: p }, p)));
  }
  select.value = routing.policy;
}

function renderNodes(nodes) {
  const rows = nodes.map((n) => {
    const t = n.telemetry || {};
    const ttft = n.ttft ? num(n.ttft.p50Millis) + ' / ' + num(n.ttft.p95Millis) + ' ms' : '–';
    const draining = n.state === 'DRAINING';
    const state = el('td', {}, el('span', { class: 'state state-' + n.state, 'data-role': 'state' }, n.state));
    if (n.reason && n.state !== 'READY') state.append(el('span', { class: 'reason' }, n.reason));
    return el('tr', { 'data-node': n.id, 'data-state': n.state },
      el('td', {}, n.id),
      el('td', {}, n.gpuType || ''),
      el('td', { 'data-role': 'dialects' }, (n.dialects || []).join(' ')),
      state,
      el('td', { class: 'num' }, num(n.weight, 1)),
      el('td', { class: 'num' }, n.score ? num(n.score.estimatedTtftMillis) + ' ms' : '–'),
      el('td', { class: 'num' }, String(n.inFlight)),
      el('td', { class: 'num', 'data-role': 'cap', title: n.capSource || '' },
        n.cap == null ? '–' : n.inFlight + ' / ' + n.cap),
      el('td', { class: 'num', 'data-role': 'gpu' }, t.gpuUtilPercent == null ? '–' : num(t.gpuUtilPercent) + ' %'),
      el('td', { class: 'num' }, t.gpuTempCelsius == null ? '–' : num(t.gpuTempCelsius) + ' °C'),
      el('td', { class: 'num' }, t.memoryUsedPercent == null ? '–' : num(t.memoryUsedPercent) + ' %'),
      el('td', { class: 'num', 'data-role': 'cache-hits' },
        n.prefixCacheHitRate == null ? '–' : num(n.prefixCacheHitRate * 100) + ' %'),
      el('td', { class: 'num', 'data-role': 'sessions' }, n.affinitySessions == null ? '–' : String(n.affinitySessions)),
      el('td', { class: 'num', 'data-role': 'ttft' }, ttft),
      el('td', {},
        el('button', { type: 'button', 'data-action': draining ? 'undrain' : 'drain', 'data-node': n.id },
          draining ? 'Undrain' : 'Drain'),
        el('button', { type: 'button', 'data-action': 'probe', 'data-node': n.id }, 'Probe')));
  });
  document.querySelector('#nodes tbody').replaceChildren(...rows);
}

const W = 520;
const H = 140;
const PAD = { l: 34, r: 34, t: 8, b: 22 };

function latencyChart(model) {
  const buckets = model.latency;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart latency', role: 'img',
    'aria-label': 'latency histogram of ' + model.model });
  const iw = W - PAD.l - 8;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / buckets.length;
  s.append(svg('line', { x1: PAD.l, y1: PAD.t + ih, x2: PAD.l + iw, y2: PAD.t + ih, class: 'axis' }));
  s.append(svg('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end' }, String(max)));
  s.append(svg('text', { x: PAD.l - 4, y: PAD.t + ih, 'text-anchor': 'end' }, '0'));
  buckets.forEach((b, i) => {
    const h = (b.count / max) * ih;
    const bar = svg('rect', { x: PAD.l + i * bw + 1, y: PAD.t + ih - h, width: Math.max(1, bw - 2), height: h,
      class: 'bar' });
    bar.append(svg('title', {}, (b.leMillis < 0 ? '> last bound' : '≤ ' + b.leMillis + ' ms') + ': ' + b.count));
    s.append(bar);
    if (i % 2 === 0) {
      const label = b.leMillis < 0 ? '∞' : b.leMillis >= 1000 ? (b.leMillis / 1000) + 's' : b.leMillis + '';
      s.append(svg('text', { x: PAD.l + i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle' }, label));
    }
  });
  return s;
}

function trendChart(model) {
  const points = model.points;
  const max = Math.max(1, ...points.map((p) => p.total));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart trend', role: 'img',
    'aria-label': 'requests per minute by outcome and error rate of ' + model.model });
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / points.length;
  s.append(svg('line', { x1: PAD.l, y1: PAD.t + ih, x2: PAD.l + iw, y2: PAD.t + ih, class: 'axis' }));
  s.append(svg('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end' }, String(max)));
  s.append(svg('text', { x: PAD.l - 4, y: PAD.t + ih, 'text-anchor': 'end' }, '0'));
  s.append(svg('text', { x: PAD.l + iw + 4, y: PAD.t + 8 }, '100%'));
  s.append(svg('text', { x: PAD.l + iw + 4, y: PAD.t + ih }, '0%'));
  s.append(svg('text', { x: PAD.l, y: H - 6 }, '−15 min'));
  s.append(svg('text', { x: PAD.l + iw, y: H - 6, 'text-anchor': 'end' }, 'now'));
  const line = [];
  points.forEach((p, i) => {
    let y = PAD.t + ih;
    for (const o of OUTCOMES_DRAWN) {
      const c = p.outcomes[o] || 0;
      if (!c) continue;
      const h = (c / max) * ih;
      y -= h;
      const r = svg('rect', { x: PAD.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: h, class: 'out-' + o });
      r.append(svg('title', {}, clock(p.startMillis) + ' ' + o + ': ' + c));
      s.append(r);
    }
    line.push(`${(PAD.l + i * bw + bw / 2).toFixed(1)},${(PAD.t + ih - p.errorRate * ih).toFixed(1)}`);
  });
  s.append(svg('polyline', { points: line.join(' '), class: 'rate' }));
  return s;
}

function legend() {
  const items = OUTCOMES_DRAWN.map((o) => el('li', {}, el('span', { class: 'swatch out-' + o }), o));
  items.push(el('li', {}, el('span', { class: 'swatch rate-line' }), 'error rate'));
  return el('ul', { class: 'legend' }, ...items);
}

function renderModels(models) {
  let errors = 0;
  let total = 0;
  const perMinute = new Array(models.length ? models[0].points.length : 0).fill(0);
  const cards = models.map((m) => {
    errors += m.errors;
    total += m.total;
    m.points.forEach((p, i) => { perMinute[i] += (p.outcomes.failed || 0) + (p.outcomes.static || 0); });
    const last = m.points[m.points.length - 1];
    const rate = m.total ? (100 * m.errors / m.total).toFixed(1) : '0.0';
    return el('div', { class: 'card', 'data-model': m.model, 'data-errors': m.errors, 'data-total': m.total },
      el('h3', {}, m.model),
      el('p', { class: 'figures' }, `${m.total} requests, error rate ${rate} % over 15 min; this minute: `
        + `${last ? last.total : 0} requests, ${last ? (100 * last.errorRate).toFixed(1) : '0.0'} % errors`),
      el('div', { class: 'hint' }, 'latency (end to end)'), latencyChart(m),
      el('div', { class: 'hint' }, 'requests per minute by outcome; error rate'), trendChart(m), legend());
  });
  document.getElementById('models').replaceChildren(...cards);
  const trend = document.getElementById('error-trend');
  trend.dataset.totalErrors = String(errors);
  trend.dataset.total = String(total);
  trend.dataset.points = perMinute.join(',');
}

function renderDegradation(d) {
  // the level that applies: the cluster's when it decides (mode CLUSTER), else the worst model's
  const order = ['NORMAL', 'CACHE', 'DOWNGRADE', 'STATIC'];
  let level = d.cluster.level;
  let scope = 'cluster';
  if (d.mode !== 'CLUSTER') {
    level = 'NORMAL';
    scope = 'every model';
    for (const m of d.models) {
      if (order.indexOf(m.level) > order.indexOf(level)) { level = m.level; scope = m.scope; }
    }
  }
  const badge = document.getElementById('degradation-level');
  badge.textContent = level === 'NORMAL' ? level : level + ' · ' + scope;
  badge.className = 'badge level-' + level;
  badge.dataset.level = level;
  badge.title = 'degradation level (' + scope + ')';
  const scopes = [d.cluster, ...d.models].map((s) => el('li', { 'data-scope': s.scope },
    el('span', { class: 'badge level-' + s.level }, s.level), ' ', s.scope,
    el('span', { class: 'hint' }, ` error rate ${(100 * s.errorRate).toFixed(1)} % of ${s.windowRequests}`
      + (s.override ? ` (override ${s.override})` : ''))));
  document.getElementById('degradation-scopes').replaceChildren(...scopes);
  const history = d.recent.slice().reverse().map((t) => el('li', {},
    el('time', {}, clock(t.atMillis)), `${t.scope}: ${t.from} → ${t.to} (${t.reason})`));
  if (!history.length) history.push(el('li', { class: 'hint' }, 'no level change yet'));
  document.getElementById('degradation-history').replaceChildren(...history);
}

function renderQueues(queues) {
  const section = document.getElementById('queues-section');
  section.hidden = !queues;
  if (!queues) return;
  const waitText = (p50, p99) => (p50 < 0 ? '–' : `${p50} / ${p99} ms`);
  const rows = queues.bands.map((q) => el('tr', { 'data-model': q.model, 'data-band': q.band },
    el('td', {}, q.model), el('td', {}, q.band), el('td', { class: 'waiting' }, String(q.waiting)),
    el('td', {}, waitText(q.waitP50Millis, q.waitP99Millis)), el('td', {}, String(q.dispatched)),
    el('td', {}, String(q.refused)), el('td', {}, String(q.timedOut)), el('td', {}, String(q.cancelled))));
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: '8', class: 'hint' },
      queues.enabled ? 'no request has waited yet' : 'flow control is off (routing.flow.enabled)')));
  }
  document.querySelector('#queues tbody').replaceChildren(...rows);
  const shares = Object.entries(queues.tenantShares).filter(([, s]) => Object.keys(s).length)
    .map(([model, s]) => el('li', { 'data-model': model }, `${model}: share of dispatched GPU time `,
      el('span', { class: 'hint' }, Object.entries(s).map(([t, v]) => `${t} ${(100 * v).toFixed(0)} %`).join(', '))));
  document.getElementById('queue-shares').replaceChildren(...shares);
}

function renderChanges(changes) {
  const items = changes.slice().reverse().map((c) => el('li', { 'data-node': c.node, 'data-to': c.to },
    el('time', {}, clock(c.atMillis)), `${c.node} ${c.from} → ${c.to}: ${c.reason}`));
  if (!items.length) items.push(el('li', { class: 'hint' }, 'no state change yet'));
  document.getElementById('changes').replaceChildren(...items);
}

function render(state) {
  lastState = state;
  renderPolicy(state.routing);
  renderNodes(state.nodes);
  renderModels(state.models);
  renderDegradation(state.degradation);
  renderChanges(state.changes);
  renderQueues(state.queues);
  document.body.dataset.updated = String(state.atMillis);
}

// ------------------------------------------------------------------ data

async function load() {
  const resp = await fetch('/admin/console/state', { credentials: 'same-origin' });
  if (resp.status === 401) { window.location = '/console/login'; return; }
  if (resp.ok) render(await resp.json());
}

function live() {
  const status = document.getElementById('live');
  const events = new EventSource('/admin/events');
  events.addEventListener('state', (ev) => {
    status.textContent = 'live';
    status.className = 'live on';
    render(JSON.parse(ev.data));
  });
  events.addEventListener('error', () => {
    status.textContent = 'reconnecting…';
    status.className = 'live';
    load().catch(() => {}); // a 401 (signed out elsewhere) goes back to the sign-in page
  });
}

load().catch((e) => say('could not load the state: ' + e.message, true));
live();
