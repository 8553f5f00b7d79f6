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

function ms(v) {
  if (v === null || v === undefined) return '–';
  if (v < 1000) return Math.round(v) + ' ms';
  if (v < 60000) return (v / 1000).toFixed(1) + ' s';
  return Math.floor(v / 60000) + ' min ' + Math.round((v % 60000) / 1000) + ' s';
}

// "93 / 5 / 2 %": a node's share of its provider's answers over 1, 5 and 15 min ("–": no answer in that window).
function shareText(share) {
  const one = (v) => (v === null || v === undefined ? '–' : String(Math.round(v * 100)));
  return one(share.m1) + ' / ' + one(share.m5) + ' / ' + one(share.m15) + ' %';
}

// A sparkline: values oldest first, null = unknown (a gap, never a line drawn through it).
function sparkline(values, label, unit, fixedMax, noneText) {
  const w = 120;
  const h = 28;
  const known = values.filter((v) => v !== null && v !== undefined);
  const max = fixedMax || Math.max(1, ...known);
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, class: 'spark', role: 'img', 'data-trend': label,
    'data-known': String(known.length), 'aria-label': label + ' over 15 min' });
  s.append(svg('line', { x1: 0, y1: h - 1, x2: w, y2: h - 1, class: 'axis' }));
  const step = values.length > 1 ? w / (values.length - 1) : w;
  let run = [];
  const flush = () => {
    if (run.length === 1) s.append(svg('circle', { cx: run[0][0], cy: run[0][1], r: 1.5, class: 'dot' }));
    if (run.length > 1) s.append(svg('polyline', { points: run.map((p) => p.join(',')).join(' '), class: 'line' }));
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null || v === undefined) { flush(); return; }
    run.push([(i * step).toFixed(1), (h - 2 - (Math.min(v, max) / max) * (h - 4)).toFixed(1)]);
  });
  flush();
  // the latest sample, not the last known one: a stale or unknown "now" reads unknown, never an old number
  const latest = values.length ? values[values.length - 1] : null;
  const last = latest === undefined ? null : latest;
  const title = el('span', { class: 'spark-label' }, label + ' ',
    el('b', {}, last === null ? (noneText || 'unknown') : (unit === 'ms' ? ms(last) : num(last) + unit)));
  return el('figure', { class: 'spark-box' }, title, s);
}

// One labelled figure; attrs.class goes on the box, the other attributes (a title) on the value.
function figure(label, role, value, attrs) {
  const a = Object.assign({}, attrs || {});
  const cls = a.class || 'fig';
  delete a.class;
  return el('div', { class: cls, title: a.title }, el('dt', {}, label),
    el('dd', Object.assign({ 'data-role': role }, a), value));
}

function telemetryLine(n) {
  const t = n.telemetry || {};
  if (t.ageMillis === undefined || t.ageMillis < 0) {
    return el('p', { class: 'telemetry unknown', 'data-role': 'telemetry', 'data-stale': 'unknown' },
      'telemetry: unknown (' + (t.lastError ? 'every scrape failed: ' + t.lastError
        : 'not scraped yet, or the node has no metricsUrl') + ')');
  }
  const age = 'scraped ' + ms(t.ageMillis) + ' ago';
  const why = t.stale ? (t.lastError ? 'stale: last scrape failed (' + t.lastError + '); ' : 'stale: ') + age : age;
  return el('p', { class: 'telemetry' + (t.stale ? ' stale' : ''), 'data-role': 'telemetry',
    'data-stale': t.stale ? 'stale' : 'fresh', title: why },
  el('span', { 'data-role': 'gpu' }, t.gpuUtilPercent == null ? 'GPU –' : 'GPU ' + num(t.gpuUtilPercent) + ' %'), ' · ',
  el('span', { 'data-role': 'temp' }, t.gpuTempCelsius == null ? '– °C' : num(t.gpuTempCelsius) + ' °C'), ' · ',
  el('span', { 'data-role': 'memory' }, t.memoryUsedPercent == null ? 'mem –' : 'mem ' + num(t.memoryUsedPercent) + ' %'),
  el('span', { class: 'age', 'data-role': 'telemetry-age' }, ' (' + why + ')'));
}

function ejectionLine(n) {
  const ej = n.ejection || {};
  if (ej.ejected) {
    return el('p', { class: 'ejection', 'data-role': 'ejection', 'data-remaining': String(ej.remainingMillis) },
      'ejected: back in ' + ms(ej.remainingMillis) + ' (ejection ' + ej.ejectionCount + ')');
  }
  if (n.coolingDown) {
    return el('p', { class: 'ejection', 'data-role': 'ejection', 'data-remaining': String(n.coolingRemainingMillis) },
      'cooling down after a busy answer: back in ' + ms(n.coolingRemainingMillis));
  }
  return null;
}

function renderNodes(nodes) {
  const cards = nodes.map((n) => {
    const tr = n.traffic;
    const req = tr ? tr.requests : { m1: 0, m5: 0, m15: 0 };
    const share = tr ? tr.share : {};
    const errs = tr ? tr.errors : { m1: 0, m5: 0, m15: 0 };
    const kinds = tr ? Object.entries(tr.errorKinds).map(([k, c]) => k + ' ' + c).join(', ') : '';
    const draining = n.state === 'DRAINING';
    const head = el('div', { class: 'node-head' },
      el('h3', {}, n.id), el('span', { class: 'hint' }, (n.gpuType || '') + ' · ',
        el('span', { 'data-role': 'dialects' }, (n.dialects || []).join(' '))),
      el('span', { class: 'state state-' + n.state, 'data-role': 'state' }, n.state),
      el('span', { class: 'actions' },
        el('button', { type: 'button', 'data-action': draining ? 'undrain' : 'drain', 'data-node': n.id },
          draining ? 'Undrain' : 'Drain'),
        el('button', { type: 'button', 'data-action': 'probe', 'data-node': n.id }, 'Probe')));
    const parts = [head];
    if (n.reason && n.state !== 'READY') parts.push(el('p', { class: 'reason' }, n.reason));
    const ej = ejectionLine(n);
    if (n.route && !ej && (n.route.chosen || n.state === 'READY')) { // else the reason above says it
      parts.push(el('p', { class: 'route' + (n.route.chosen ? ' chosen' : ''), 'data-role': 'route' },
        el('b', {}, n.route.chosen ? 'chosen now: ' : 'not first: '), n.route.text));
    }
    if (ej) parts.push(ej);
    parts.push(el('dl', { class: 'figures' },
      figure('share 1 / 5 / 15 min', 'share', shareText(share),
        { title: 'of the answers of the nodes of provider ' + n.provider }),
      figure('requests', 'requests', req.m1 + ' / ' + req.m5 + ' / ' + req.m15),
      figure('errors', 'errors', errs.m1 + ' / ' + errs.m5 + ' / ' + errs.m15,
        { title: 'failed attempts on this node (another node may have answered)', class: 'fig' + (errs.m5 ? ' bad' : '') }),
      figure('TTFT p50 / p95', 'ttft', n.ttft ? ms(n.ttft.p50Millis) + ' / ' + ms(n.ttft.p95Millis) : '–',
        { title: 'time to first byte, last 5 min' }),
      figure('E2E p50 / p95', 'e2e', n.e2e ? ms(n.e2e.p50Millis) + ' / ' + ms(n.e2e.p95Millis) : '–',
        { title: 'arrival to last byte, last 5 min' }),
      figure('in flight / cap', 'cap', n.cap == null ? String(n.inFlight) : n.inFlight + ' / ' + n.cap,
        { title: n.capSource || '' }),
      figure('queued at node', 'queued', n.waiting == null ? '–' : num(n.waiting),
        { title: 'requests waiting inside the node, as its telemetry reports (vLLM)' }),
      figure('sessions pinned', 'sessions', n.affinitySessions == null ? '–' : String(n.affinitySessions)),
      figure('prefix cache hits', 'cache-hits', n.prefixCacheHitRate == null ? '–' : num(n.prefixCacheHitRate * 100) + ' %'),
      figure('est. TTFT', 'score', n.score ? ms(n.score.estimatedTtftMillis) : '–',
        { title: 'least-delay estimate of a typical request\'s time to first token' })));
    if (kinds) parts.push(el('p', { class: 'error-kinds', 'data-role': 'error-kinds' }, 'errors by kind (15 min): ' + kinds));
    parts.push(telemetryLine(n));
    const tt = n.trends || {};
    const none15 = new Array(15).fill(null);
    const none30 = new Array(30).fill(null);
    parts.push(el('div', { class: 'sparks' + ((n.telemetry || {}).stale ? ' stale' : '') },
      sparkline(tt.gpuUtilPercent || none30, 'GPU', ' %', 100),
      sparkline(tt.gpuTempCelsius || none30, 'temp', ' °C'),
      sparkline(tt.memoryUsedPercent || none30, 'memory', ' %', 100),
      sparkline(tt.ttftP50Millis || none15, 'TTFT p50', 'ms', null, 'no answer this min')));
    return el('article', { class: 'node card', 'data-node': n.id, 'data-state': n.state,
      'data-errors': String(errs.m15), 'data-requests': String(req.m15) }, ...parts);
  });
  document.getElementById('nodes').replaceChildren(...cards);
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

function renderModels(models, degradation, queues) {
  const levels = {};
  for (const d of (degradation ? degradation.models : [])) levels[d.scope] = d.level;
  const queued = {};
  for (const q of (queues && queues.enabled ? queues.bands : [])) queued[q.model] = (queued[q.model] || 0) + q.waiting;
  let errors = 0;
  let total = 0;
  const perMinute = new Array(models.length ? models[0].points.length : 0).fill(0);
  const cards = models.map((m) => {
    errors += m.errors;
    total += m.total;
    m.points.forEach((p, i) => { perMinute[i] += (p.outcomes.failed || 0) + (p.outcomes.static || 0); });
    const last = m.points[m.points.length - 1];
    const rate = m.total ? (100 * m.errors / m.total).toFixed(1) : '0.0';
    const title = m.kind === 'lists' ? 'Model-list calls' : m.kind === 'unknown' ? 'Requests without a configured model'
      : m.model;
    const about = m.kind === 'lists' ? 'GET /v1/models, /api/tags, /api/ps, /api/version: answered by the gateway'
      : m.kind === 'unknown' ? 'a model that is not configured, or refused before the model was read (token, body)'
        : null;
    const level = levels[m.model];
    const c = m.cache || {};
    const waiting = queued[m.model];
    return el('div', { class: 'card', 'data-model': m.model, 'data-kind': m.kind, 'data-errors': m.errors,
      'data-total': m.total },
    el('h3', {}, title, ' ', level ? el('span', { class: 'badge level-' + level, 'data-role': 'level' }, level) : ''),
    about ? el('p', { class: 'hint' }, about) : '',
    el('p', { class: 'figures' }, `${m.total} requests, error rate ${rate} % over 15 min; this minute: `
        + `${last ? last.total : 0} requests, ${last ? (100 * last.errorRate).toFixed(1) : '0.0'} % errors`),
    el('dl', { class: 'figures' },
      figure('req/s', 'rate', num(m.requestsPerSecond, 2), { title: 'over the last minute' }),
      figure('p50', 'p50', ms(m.p50Millis), { title: 'end to end, 15 min' }),
      figure('p95', 'p95', ms(m.p95Millis), { title: 'end to end, 15 min' }),
      figure('p99', 'p99', ms(m.p99Millis), { title: 'end to end, 15 min' }),
      m.kind === 'model' ? figure('cache hit / stale / miss', 'cache', `${c.hit || 0} / ${c.stale || 0} / ${c.miss || 0}`,
        { title: 'response-cache lookups, 15 min' }) : '',
      waiting === undefined ? '' : figure('waiting in gateway', 'waiting', String(waiting))),
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
  renderModels(state.models, state.degradation, state.queues);
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
