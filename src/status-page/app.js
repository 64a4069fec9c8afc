// vigil's status page: reads GET /api/overview every few seconds and draws it; silences are created and
// expired through the Alertmanager-compatible API (POST /api/v2/silences, DELETE /api/v2/silence/ID) with
// the API token typed in the header (kept for this browser tab only). No framework, no build step; charts
// are uPlot (served from the package's node_modules).
'use strict';

(function () {
  const REFRESH_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  // an alert's generatorURL: /alerts?rule=NAME, or the rule's own path /api/v1/rules/NAME opened in a browser
  const rulePath = /^\/api\/v1\/rules\/([^/]+)$/.exec(location.pathname);
  const ruleParam = params.get('rule') || (rulePath ? decodeURIComponent(rulePath[1]) : null);
  let last = null; // previous overview, for rates
  const charts = new Map(); // series key -> { plot, el }
  let token = sessionStorage.getItem('vigil.token') || '';

  // ---------------------------------------------------------------------------------------------- helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const ms = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v.toFixed(v < 10 ? 2 : 0) + ' ms');
  const pct = (v) => (v * 100).toFixed(v < 0.1 ? 2 : 1) + '%';
  const usd = (v) => '$' + (v < 1 ? v.toFixed(4) : v.toFixed(2));
  const int = (v) => Math.round(v).toLocaleString('en-US');
  function age(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 120) return s + 's';
    if (s < 7200) return Math.round(s / 60) + 'm';
    if (s < 172800) return Math.round(s / 3600) + 'h';
    return Math.round(s / 86400) + 'd';
  }
  const chips = (labels, skip) => Object.entries(labels).filter(([k]) => !(skip || []).includes(k)).map(([k, v]) => h('span', { class: 'chip' }, k + '=' + v));
  function table(el, head, rows, empty) {
    el.replaceChildren(h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))));
    const body = h('tbody');
    if (!rows.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: head.length }, empty)));
    for (const r of rows) body.append(r);
    el.append(body);
  }
  const num = (v) => h('td', { class: 'num' }, v);
  function showError(msg) {
    const el = $('error');
    el.hidden = !msg;
    el.textContent = msg || '';
  }
  function matcherText(m) {
    return m.name + (m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=') + JSON.stringify(m.value);
  }

  /** Alertmanager's matcher list: `a="b", c=~"d"` (braces optional, values quoted or not). */
  /** The matchers of typed text (`a="b", c=~"d"`, braces optional), read by vigil's own parser as Alertmanager reads them. */
  async function parseMatchers(text) {
    if (!text.trim()) throw new Error('give at least one matcher');
    return api('GET', '/api/matchers?text=' + encodeURIComponent(text));
  }

  function parseDuration(text) {
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
    const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
    let total = 0;
    let pos = 0;
    const s = text.trim();
    while (pos < s.length) {
      re.lastIndex = pos;
      const m = re.exec(s);
      if (!m) throw new Error('duration "' + text + '": write e.g. 30m, 2h or 1d');
      total += Number(m[1]) * unit[m[2]];
      pos = re.lastIndex;
    }
    if (!(total > 0)) throw new Error('the duration must be above zero');
    return total;
  }

  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token && method !== 'GET') headers.authorization = 'Bearer ' + token;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    // Alertmanager's errors are a JSON string, or {code, message} from its OpenAPI validation (422)
    if (!res.ok) throw new Error(res.status + ': ' + (typeof data === 'string' ? data : data && typeof data.message === 'string' ? data.message : JSON.stringify(data)));
    return data;
  }

  // ---------------------------------------------------------------------------------------------- render

  function renderHeader(o) {
    $('version').textContent = o.version;
    const ready = $('ready');
    ready.textContent = o.ready ? 'ready' : 'not ready: ' + (o.notReadyReason || '');
    ready.className = 'badge ' + (o.ready ? 'ok' : 'error');
    $('updated').textContent = 'updated ' + new Date(o.generatedAt).toLocaleTimeString();
    const state = $('token-state');
    state.textContent = !o.api.writable ? 'writes disabled (no token configured)' : token ? 'token set' : o.api.tokenRequired ? 'read-only without a token' : '';
  }

  function renderSummary(o) {
    const cards = [];
    const a = o.alerts;
    cards.push(h('div', { class: 'card', id: 'card-alerts' }, h('div', { class: 'label' }, 'Alerts'), h('div', { class: 'big' }, String(a.firing), ' firing'), h('div', { class: 'muted' }, a.suppressed + ' silenced or inhibited, ' + a.pending + ' pending')));
    for (const b of o.cost.budgets.slice(0, 2)) {
      cards.push(
        h('div', { class: 'card budget-card' }, h('div', { class: 'label' }, 'Budget ' + b.name + ' (' + b.period + ')'), h('div', { class: 'big' }, usd(b.spentUsd), h('span', { class: 'muted small' }, ' of ' + usd(b.limitUsd))), h('div', { class: 'muted' }, pct(b.utilization) + ' used, projected ' + usd(b.projectedUsd))),
      );
    }
    const services = o.latency.series.filter((s) => s.by === 'service');
    const busiest = services.slice().sort((x, y) => y.calls - x.calls)[0];
    if (busiest) cards.push(h('div', { class: 'card' }, h('div', { class: 'label' }, 'p95 ' + (busiest.name || '(no service)')), h('div', { class: 'big' }, ms(busiest.p95)), h('div', { class: 'muted' }, int(busiest.calls) + ' calls, ' + pct(busiest.errorRate) + ' errors')));
    const failing = o.components.filter((c) => !c.healthy).length;
    cards.push(h('div', { class: 'card' }, h('div', { class: 'label' }, 'Components'), h('div', { class: 'big' }, String(o.components.length - failing) + '/' + o.components.length), h('div', { class: 'muted' }, failing ? failing + ' failing' : 'all healthy')));
    $('summary').replaceChildren(...cards);
  }

  function alertState(x) {
    if (x.state === 'pending') return 'pending';
    if (x.silencedBy.length) return 'silenced';
    if (x.inhibitedBy.length) return 'inhibited';
    return 'firing';
  }

  function silenceFor(alert) {
    // alertname first, then the alert's other labels (severity left out: it rarely narrows anything)
    const keep = Object.entries(alert.labels)
      .filter(([k]) => k !== 'severity')
      .sort(([a], [b]) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : 0));
    $('silence-matchers').value = keep.map(([k, v]) => vigilMatchers.formatMatcher(k, '=', v)).join(', ');
    $('silence-comment').focus();
  }

  function renderAlerts(o) {
    const rows = o.alerts.list.map((x) => {
      const st = alertState(x);
      const ruleLink = h('a', { href: '/alerts?rule=' + encodeURIComponent(x.rule), title: 'open the rule' }, x.labels.alertname || x.rule);
      return h(
        'tr',
        { class: ruleParam && x.rule === ruleParam ? 'highlight' : '', 'data-fingerprint': x.fingerprint },
        h('td', {}, h('span', { class: 'badge ' + st }, st)),
        h('td', {}, ruleLink, ' ', h('span', { class: 'badge ' + (x.labels.severity || '') }, x.labels.severity || '')),
        h('td', {}, chips(x.labels, ['alertname', 'severity'])),
        h('td', {}, Object.entries(x.annotations).map(([k, v]) => h('div', {}, k === 'summary' ? v : k + ': ' + v))),
        num(x.value === null ? '–' : Number(x.value.toPrecision(4)).toString()),
        num(age(x.startsAt)),
        h('td', {}, st === 'silenced' ? h('span', { class: 'muted small' }, 'by ' + x.silencedBy.map((id) => id.slice(0, 8)).join(', ')) : h('button', { type: 'button', onclick: () => silenceFor(x) }, 'Silence…')),
      );
    });
    if (o.alerts.unlisted) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, 'and ' + o.alerts.unlisted + ' more (all in /api/v2/alerts)')));
    table($('alerts'), ['state', 'alert', 'labels', 'annotations', 'value', 'age', ''], rows, 'no alerts firing or pending');
  }

  function renderRule(o) {
    const panel = $('rule-panel');
    if (!ruleParam) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $('rule-name').textContent = ruleParam;
    const r = o.alerts.rules.find((x) => x.name === ruleParam);
    if (!r) {
      $('rule-body').replaceChildren(h('p', { class: 'muted' }, 'no rule named ' + ruleParam + ' in the running config'));
      return;
    }
    const parts = [
      h('p', {}, h('code', {}, r.expr)),
      h('p', {}, 'severity ', h('span', { class: 'badge ' + r.severity }, r.severity), ', for ' + (r.forMs / 1000) + 's, processor ' + r.processor + ': ' + r.firing + ' firing, ' + r.pending + ' pending'),
      Object.keys(r.labels).length ? h('p', {}, 'labels ', chips(r.labels)) : null,
      ...Object.entries(r.annotations).map(([k, v]) => h('p', {}, k + ': ', h('code', {}, v))),
    ];
    $('rule-body').replaceChildren(...parts.filter(Boolean));
  }

  function chartFor(key, s) {
    const xs = s.points.map((p) => p.t / 1000);
    const data = [xs, s.points.map((p) => p.p50), s.points.map((p) => p.p95), s.points.map((p) => p.p99)];
    let c = charts.get(key);
    if (c) {
      c.plot.setData(data);
      return c.el;
    }
    const el = h('div', { class: 'chart' });
    const plot = new uPlot(
      {
        width: 300,
        height: 64,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true } },
        series: [{}, { stroke: '#9aa5b8', width: 1 }, { stroke: '#d98c00', width: 2 }, { stroke: '#d23c3c', width: 1 }],
      },
      data,
      el,
    );
    c = { plot, el };
    charts.set(key, c);
    return el;
  }

  function errorChartFor(key, s) {
    const data = [s.points.map((p) => p.t / 1000), s.points.map((p) => (p.calls ? p.errors / p.calls : null))];
    const k = key + '\u0000errors';
    let c = charts.get(k);
    if (c) {
      c.plot.setData(data);
      return c.el;
    }
    const el = h('div', { class: 'chart small-chart' });
    const plot = new uPlot(
      {
        width: 140,
        height: 64,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(0.05, max)] } },
        series: [{}, { stroke: '#d23c3c', width: 1, fill: 'rgba(210,60,60,0.15)' }],
      },
      data,
      el,
    );
    c = { plot, el };
    charts.set(k, c);
    return el;
  }

  function renderLatency(o) {
    const minutes = Math.round(o.latency.summaryWindowMs / 60000);
    $('latency-span').textContent = minutes ? '(summaries over the last ' + minutes + ' min; charts: one point per ' + o.latency.windowMs / 1000 + 's window, latency p50 grey, p95 orange, p99 red; error rate from 0)' : '';
    const seen = new Set();
    const rows = o.latency.series.map((s) => {
      const key = s.by + '\u0000' + s.name;
      seen.add(key);
      return h(
        'tr',
        { 'data-series': s.by + ':' + s.name },
        h('td', {}, s.by),
        h('td', {}, s.name || '(none)'),
        num(ms(s.p50)),
        h('td', { class: 'num p95' }, ms(s.p95)),
        num(ms(s.p99)),
        num(int(s.calls)),
        h('td', { class: 'num' + (s.errorRate > 0.05 ? ' bad' : '') }, pct(s.errorRate)),
        h('td', { class: 'chart-cell' }, chartFor(key, s)),
        h('td', { class: 'chart-cell small' }, errorChartFor(key, s)),
      );
    });
    for (const k of [...charts.keys()]) if (!seen.has(k.endsWith('\u0000errors') ? k.slice(0, -'\u0000errors'.length) : k)) {
      charts.get(k).plot.destroy();
      charts.delete(k);
    }
    table($('latency'), ['by', 'name', 'p50', 'p95', 'p99', 'calls', 'error rate', 'p50 / p95 / p99', 'error rate'], rows, 'no latency data yet: a percentiles processor reports it once a window closes');
  }

  function renderCost(o) {
    const budgets = o.cost.budgets.map((b) => {
      const used = Math.min(1, b.utilization);
      const proj = Math.min(1, b.projectedUsd / b.limitUsd);
      const group = Object.keys(b.group).length ? ' ' + Object.entries(b.group).map(([k, v]) => k + '=' + v).join(' ') : '';
      return h(
        'div',
        { class: 'budget', 'data-budget': b.name },
        h('div', {}, h('strong', {}, b.name + group), ' ', h('span', { class: 'muted' }, b.period + ' ' + b.periodLabel + ' (' + b.timezone + ')')),
        h('div', { class: 'bar', title: 'projected at the end of the period: ' + usd(b.projectedUsd) }, h('div', { class: 'fill' + (b.utilization >= 1 ? ' over' : b.utilization >= 0.8 ? ' warn' : ''), style: 'width:' + (used * 100).toFixed(1) + '%' }), h('div', { class: 'proj', style: 'left:' + (proj * 100).toFixed(1) + '%' })),
        h('div', { class: 'budget-text' }, usd(b.spentUsd) + ' of ' + usd(b.limitUsd) + ' (' + pct(b.utilization) + '), projected ' + usd(b.projectedUsd) + ' by ' + new Date(b.periodEndMs).toLocaleString()),
      );
    });
    $('budgets').replaceChildren(...(budgets.length ? budgets : [h('p', { class: 'muted' }, 'no budgets configured (processors.cost.budgets)')]));
    table(
      $('models'),
      ['model', 'today', 'this month', 'input tokens', 'output tokens'],
      o.cost.models.map((m) => h('tr', {}, h('td', {}, m.model, m.unpriced ? h('span', { class: 'badge warning' }, 'unpriced') : null), num(usd(m.todayUsd)), num(usd(m.monthUsd)), num(int(m.inputTokens)), num(int(m.outputTokens)))),
      'no LLM calls seen yet',
    );
  }

  function renderSilences(o) {
    const rows = o.silences
      .filter((s) => s.status.state !== 'expired' || Date.now() - Date.parse(s.endsAt) < 3600e3)
      .map((s) =>
        h(
          'tr',
          { 'data-silence': s.id },
          h('td', {}, h('span', { class: 'badge ' + (s.status.state === 'active' ? 'ok' : s.status.state) }, s.status.state)),
          h('td', {}, s.matchers.map((m) => h('span', { class: 'chip' }, matcherText(m)))),
          h('td', {}, new Date(s.startsAt).toLocaleString()),
          h('td', {}, new Date(s.endsAt).toLocaleString()),
          h('td', {}, s.createdBy),
          h('td', {}, s.comment),
          h('td', { class: 'muted small' }, s.id.slice(0, 8)),
          h('td', {}, s.status.state !== 'expired' && !s.id.startsWith('config-') ? h('button', { type: 'button', disabled: !o.api.writable, onclick: () => expire(s.id) }, 'Expire') : null),
        ),
      );
    if (o.silencesUnlisted) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 8 }, 'and ' + o.silencesUnlisted + ' more (all in /api/v2/silences)')));
    table($('silences'), ['state', 'matchers', 'starts', 'ends', 'by', 'comment', 'id', ''], rows, 'no silences');
    $('silence-form').querySelector('button').disabled = !o.api.writable;
  }

  function rate(c) {
    if (!last) return '';
    const prev = last.components.find((p) => p.kind === c.kind && p.id === c.id);
    const dt = (Date.parse(lastNow) - Date.parse(last.generatedAt)) / 1000;
    if (!prev || !(dt > 0)) return '';
    const moved = c.accepted + c.sent - (prev.accepted + prev.sent);
    return moved > 0 ? (moved / dt).toFixed(1) + '/s' : '0/s';
  }
  let lastNow = '';

  function renderComponents(o) {
    $('pipelines').replaceChildren(...o.pipelines.map((p) => h('p', {}, h('strong', {}, p.name), ': ', [p.receivers.join(', '), ...p.processors, p.exporters.join(', ')].filter((x) => x !== '').join(' → '))));
    lastNow = o.generatedAt;
    table(
      $('components'),
      ['component', 'health', 'accepted', 'refused', 'dropped', 'sent', 'failed', 'queue', 'rate'],
      o.components.map((c) =>
        h(
          'tr',
          { 'data-component': c.kind + '/' + c.id },
          h('td', {}, c.kind + '/' + c.id),
          h('td', {}, h('span', { class: 'badge ' + (c.healthy ? 'ok' : 'error') }, c.healthy ? 'ok' : 'failed'), c.reason ? h('span', { class: 'muted small' }, ' ' + c.reason) : null),
          num(int(c.accepted)),
          num(int(c.refused)),
          num(int(c.dropped)),
          num(int(c.sent)),
          num(int(c.failed)),
          num(c.queue ? c.queue.size + (c.queue.capacity !== undefined ? ' / ' + c.queue.capacity : '') : ''),
          num(rate(c)),
        ),
      ),
      'no components',
    );
  }

  function renderNotifications(o) {
    table(
      $('notifications'),
      ['when', 'status', 'alerts', 'exporters'],
      o.alerts.notifications.slice(0, 20).map((n) => h('tr', {}, h('td', {}, new Date(n.at).toLocaleTimeString()), h('td', {}, h('span', { class: 'badge ' + (n.status === 'firing' ? 'firing' : 'ok') }, n.status)), h('td', {}, n.alertnames.join(', ') + (n.alerts > 1 ? ' (' + n.alerts + ')' : '')), h('td', {}, n.exporters.join(', ')))),
      'no notifications sent yet',
    );
    const rows = [];
    for (const d of o.deliveries) {
      rows.push(h('tr', {}, h('td', {}, h('strong', {}, d.exporter)), h('td', { colspan: 3 }, d.queued + ' queued, ' + d.delivered + ' delivered, ' + d.deadLettered + ' dead letters', d.deadLettered ? h('span', { class: 'muted small' }, ' (' + d.deadLetterFile + ')') : null)));
      for (const r of d.recent.slice(0, 8)) rows.push(h('tr', {}, h('td', {}, new Date(r.at).toLocaleTimeString()), h('td', {}, h('span', { class: 'badge ' + (r.outcome === 'delivered' ? 'ok' : 'error') }, r.outcome.replace('_', ' '))), h('td', {}, (r.alertname || '') + (r.status ? ' ' + r.status : '')), h('td', { class: 'muted small' }, r.reason || (r.attempts > 1 ? r.attempts + ' attempts' : ''))));
    }
    table($('deliveries'), ['', 'outcome', 'notification', ''], rows, 'no queued exporters (slack, email, webhook, ...) configured');
  }

  function render(o) {
    renderHeader(o);
    renderSummary(o);
    renderRule(o);
    renderAlerts(o);
    renderLatency(o);
    renderCost(o);
    renderSilences(o);
    renderComponents(o);
    renderNotifications(o);
    last = o;
  }

  // ---------------------------------------------------------------------------------------------- actions

  async function refresh() {
    try {
      const o = await api('GET', '/api/overview');
      render(o);
      showError('');
    } catch (e) {
      showError('cannot load /api/overview: ' + e.message);
    }
  }

  async function expire(id) {
    try {
      await api('DELETE', '/api/v2/silence/' + encodeURIComponent(id));
      $('silence-state').textContent = 'expired ' + id.slice(0, 8);
      await refresh();
    } catch (e) {
      $('silence-state').textContent = 'could not expire: ' + e.message;
    }
  }

  $('silence-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const state = $('silence-state');
    try {
      const matchers = await parseMatchers($('silence-matchers').value);
      const now = Date.now();
      const r = await api('POST', '/api/v2/silences', {
        matchers,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + parseDuration($('silence-duration').value)).toISOString(),
        createdBy: $('silence-author').value,
        comment: $('silence-comment').value,
      });
      state.textContent = 'created silence ' + r.silenceID.slice(0, 8);
      sessionStorage.setItem('vigil.author', $('silence-author').value);
      await refresh();
    } catch (e) {
      state.textContent = 'could not create the silence: ' + e.message;
    }
  });

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    if (token) sessionStorage.setItem('vigil.token', token);
    else sessionStorage.removeItem('vigil.token');
    $('token').value = '';
    if (last) renderHeader(last);
  });

  $('silence-author').value = sessionStorage.getItem('vigil.author') || '';
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
