// The "H-JEPA Health" tab. TensorBoard's iframe page (/data/plugin_entry.html?name=hjepa,
// <base href="plugin/hjepa/">) imports this module and calls render().
//
// index.js wires state -> api -> views: it fetches what the visible view needs,
// ignores answers that arrive after the user moved on, builds the view's DOM, and
// destroys the previous view's charts. The tab computes no verdict: every status,
// threshold and text comes from the `health` and `catalog` routes.

import * as api from './api.js';
import {C} from './classes.js';
import {categoryLabel, formatClock, formatStep, DEFAULT_STATUS_ORDER} from './format.js';
import {createStore} from './state.js';
import {
  RUN_COLORS, categoryTabs, chartCard, diagnosisView, emptyView, errorView, h, hierarchyView,
  lightsView, loadingView, overviewView, sourceLabel, statusBadge, statusIcon,
} from './views.js';

const RELOAD_MS = 30000;
const VIEWS = [
  {id: 'lights', label: 'Collapse lights'},
  {id: 'hierarchy', label: 'Hierarchy'},
  {id: 'diagnosis', label: 'Diagnosis'},
  {id: 'charts', label: 'Charts'},
];

class App {
  constructor(mount) {
    this.mount = mount;
    this.store = createStore();
    this.runs = null; // rows of the runs route
    this.runsError = null;
    this.catalog = null;
    this.health = new Map(); // run -> {data} | {error}
    this.scalars = new Map(); // run \0 tag -> {data} | {error}
    this.charts = []; // live charts of the current view
    this.checked = []; // runs ticked in the overview
    this.token = 0; // bumps on every render; stale async work compares it
    this.lastRefresh = 0;
    this.refreshing = null;
    this.timers = [];
    this.disposers = [];
  }

  start() {
    document.documentElement.lang = document.documentElement.lang || 'en';
    if (!document.querySelector('link[data-hjepa-style]')) {
      document.head.appendChild(h('link', {rel: 'stylesheet', href: './style.css', 'data-hjepa-style': '1'}));
    }
    document.title = 'H-JEPA Health';
    this.mount.textContent = '';
    this.updatedLabel = h('span', {class: C.barMeta, 'aria-live': 'polite'});
    this.backButton = h('button', {class: [C.button, 'hj-back'], type: 'button', hidden: true,
      on: {click: () => this.store.set({view: 'overview'})}}, '← All runs');
    this.smoothing = h('input', {type: 'range', min: '0', max: '0.99', step: '0.01', class: C.slider,
      'aria-label': 'smoothing', on: {input: (ev) => this.onSmoothing(ev.target.value)}});
    this.smoothing.value = String(this.store.get().smoothing);
    this.smoothingValue = h('span', {class: [C.mono, 'hj-smoothing-value']}, this.store.get().smoothing.toFixed(2));
    this.smoothingBox = h('label', {class: 'hj-smoothing', hidden: true}, 'Smoothing ', this.smoothing, this.smoothingValue);
    const reload = h('button', {class: [C.button, C.iconButton], type: 'button', title: 'reload data', 'aria-label': 'reload data',
      on: {click: () => this.refresh()}}, '⟳ Reload');
    const bar = h('header', {class: C.bar},
      this.backButton,
      h('h1', {class: C.barTitle}, 'H-JEPA Health'),
      h('span', {class: C.barSpacer}),
      this.smoothingBox, this.updatedLabel, reload);
    this.main = h('main', {class: C.main}, loadingView('Loading runs…'));
    this.root = h('div', {class: C.root}, bar, this.main);
    this.mount.appendChild(this.root);

    this.store.subscribe((state, changed) => {
      if (changed.includes('smoothing') && changed.length === 1) return;
      this.renderView();
    });
    this.timers.push(setInterval(() => {
      if (!document.hidden) this.refresh();
    }, RELOAD_MS));
    const onVisible = () => {
      if (!document.hidden && Date.now() - this.lastRefresh > 5000) this.refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    this.disposers.push(() => document.removeEventListener('visibilitychange', onVisible));
    this.disposers.push(connectHost(() => this.refresh()));
    this.refresh();
  }

  /** Re-fetch everything the visible view uses, then render it. */
  async refresh() {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      this.lastRefresh = Date.now();
      const [runs, catalog] = await Promise.all([api.getRuns(), this.catalog ? Promise.resolve({data: this.catalog}) : api.getCatalog()]);
      if (catalog.data) this.catalog = catalog.data;
      this.catalogError = catalog.error;
      if (runs.error) {
        this.runsError = runs.error;
      } else {
        this.runsError = null;
        this.runs = Array.isArray(runs.data.runs) ? runs.data.runs.filter((r) => r && typeof r.run === 'string') : [];
      }
      this.health.clear();
      this.scalars.clear();
      this.updatedLabel.textContent = `Updated ${formatClock(new Date())}`;
      await this.renderView();
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  statusOrder() {
    return this.catalog && Array.isArray(this.catalog.statuses) ? this.catalog.statuses : DEFAULT_STATUS_ORDER;
  }

  runColor(run) {
    const i = (this.runs || []).findIndex((r) => r.run === run);
    return RUN_COLORS[(i < 0 ? 0 : i) % RUN_COLORS.length];
  }

  onSmoothing(value) {
    const v = Math.min(0.99, Math.max(0, Number(value) || 0));
    this.smoothingValue.textContent = v.toFixed(2);
    this.store.set({smoothing: v});
    clearTimeout(this.smoothTimer);
    this.smoothTimer = setTimeout(() => {
      for (const c of this.charts) if (c.kind === 'line') c.update({smoothing: v});
    }, 30);
  }

  /** Replace the main area's content; destroys the old view's charts first. */
  swap(node, mountedCallbacks = []) {
    // A reload rebuilds the view: keep what the user opened and where the focus was.
    const openState = new Map();
    for (const d of this.main.querySelectorAll('details')) openState.set(identity(d, this.main), d.open);
    const active = document.activeElement && this.main.contains(document.activeElement) ? identity(document.activeElement, this.main) : null;
    for (const c of this.charts) c.destroy();
    this.charts = [];
    const scroll = window.scrollY;
    this.main.textContent = '';
    this.main.appendChild(node);
    for (const fn of mountedCallbacks) fn();
    for (const d of this.main.querySelectorAll('details')) {
      const id = identity(d, this.main);
      if (openState.has(id)) d.open = openState.get(id);
    }
    if (active) {
      const tag = active.split('|')[0].split('.')[0];
      const target = Array.from(this.main.querySelectorAll(tag)).find((el) => identity(el, this.main) === active);
      if (target) target.focus({preventScroll: true});
    }
    window.scrollTo(0, scroll);
  }

  makeCtx() {
    const pending = [];
    const ctx = {
      track: (chart) => {
        this.charts.push(chart);
        return chart;
      },
      afterMount: (fn) => pending.push(fn),
      pending,
    };
    return ctx;
  }

  async renderView() {
    const token = ++this.token;
    const state = this.store.get();
    if (this.runs === null) {
      if (this.runsError) this.swap(errorView('the runs', this.runsError, () => this.refresh()));
      return;
    }
    if (this.runsError) {
      this.swap(errorView('the runs', this.runsError, () => this.refresh()));
      return;
    }
    const known = new Set(this.runs.map((r) => r.run));
    const selected = state.selected.filter((r) => known.has(r));
    this.checked = this.checked.filter((r) => known.has(r));
    const view = selected.length && state.view !== 'overview' ? state.view : 'overview';
    this.backButton.hidden = view === 'overview';
    this.smoothingBox.hidden = view !== 'charts';
    if (view === 'overview') {
      this.swap(this.runs.length ? this.overview() : emptyView(this.catalog));
      return;
    }
    // Health of every selected run (cached until the next refresh).
    const missing = selected.filter((r) => !this.health.has(r));
    if (missing.length) {
      if (!this.main.querySelector('.hj-layout')) this.swap(loadingView('Loading diagnosis…'));
      const results = await api.pool(missing.map((run) => () => api.getHealth(run)), 3);
      if (token !== this.token) return; // the user moved on
      missing.forEach((run, i) => this.health.set(run, results[i]));
    }
    const items = [];
    const errors = [];
    for (const run of selected) {
      const r = this.health.get(run);
      if (r && r.data) items.push({run, color: this.runColor(run), health: r.data});
      else errors.push(errorView(`the health of run “${run}”`, r ? r.error : 'no answer', () => this.refresh()));
    }
    const ctx = this.makeCtx();
    let content;
    if (!items.length) content = h('div', {}, errors);
    else if (view === 'lights') content = lightsView(items);
    else if (view === 'hierarchy') content = hierarchyView(items, this.catalog, ctx);
    else if (view === 'diagnosis') content = diagnosisView(items);
    else content = await this.chartsView(items, ctx, token);
    if (content === null || token !== this.token) return;
    this.swap(this.runLayout(selected, view, items, [errors, content]), ctx.pending);
  }

  overview() {
    return overviewView({
      runs: this.runs,
      checked: this.checked,
      statusOrder: this.statusOrder(),
      onOpen: (run) => this.store.set({selected: [run], view: this.viewAfterOverview()}),
      onOpenMany: () => this.checked.length && this.store.set({selected: this.checked.slice(), view: this.viewAfterOverview()}),
      onCheck: (run, on) => {
        this.checked = on ? Array.from(new Set([...this.checked, run])) : this.checked.filter((r) => r !== run);
        const btn = this.main.querySelector('[data-action="open-selected"]');
        if (btn) {
          btn.disabled = this.checked.length < 1;
          btn.textContent = this.checked.length > 1 ? `Compare ${this.checked.length} selected runs`
            : this.checked.length === 1 ? 'Open selected run' : 'Select runs to compare';
        }
      },
    });
  }

  viewAfterOverview() {
    const v = this.store.get().lastView;
    return VIEWS.some((x) => x.id === v) ? v : 'lights';
  }

  /** Sidebar of runs (tick to overlay), header with the selected runs, view tabs. */
  runLayout(selected, view, items, content) {
    const side = h('nav', {class: C.sidebar, 'aria-label': 'runs'}, h('div', {class: 'hj-sidebar-title'}, 'Runs'));
    for (const r of this.runs) {
      const box = h('input', {type: 'checkbox', on: {change: (ev) => {
        const cur = this.store.get().selected.filter((x) => x !== r.run);
        const next = ev.target.checked ? [...cur, r.run] : cur;
        if (next.length) this.store.set({selected: next});
        else ev.target.checked = true;
      }}});
      box.checked = selected.includes(r.run);
      const swatch = h('span', {class: C.runSwatch});
      swatch.style.background = this.runColor(r.run);
      side.appendChild(h('label', {class: ['hj-side-run', selected.includes(r.run) && 'hj-side-run-on'], dataset: {run: r.run}},
        box, swatch, h('span', {class: 'hj-side-name', title: r.run}, r.run), h('span', {class: 'hj-sr-only'}, r.status || 'unknown'), statusIcon(r.status || 'unknown')));
    }
    const tabs = h('div', {class: C.tabs, role: 'tablist', 'aria-label': 'views'});
    for (const v of VIEWS) {
      tabs.appendChild(h('button', {class: [C.tab, v.id === view && C.tabActive], type: 'button', role: 'tab',
        'aria-selected': String(v.id === view), dataset: {view: v.id},
        on: {click: () => this.store.set({view: v.id, lastView: v.id}), keydown: (ev) => {
          const all = Array.from(tabs.querySelectorAll('button'));
          const i = all.indexOf(ev.currentTarget);
          if (ev.key === 'ArrowRight' && all[i + 1]) all[i + 1].focus();
          if (ev.key === 'ArrowLeft' && all[i - 1]) all[i - 1].focus();
        }}}, v.label));
    }
    const heads = h('div', {class: 'hj-run-heads'});
    for (const it of items) {
      const hd = it.health;
      const swatch = h('span', {class: C.runSwatch});
      swatch.style.background = it.color;
      heads.appendChild(h('div', {class: [C.card, 'hj-run-head'], dataset: {run: it.run, status: hd.status || 'unknown'}},
        h('div', {class: 'hj-run-head-name'}, swatch, h('span', {class: 'hj-run-text'}, it.run)),
        statusBadge(hd.status),
        h('span', {class: [C.muted, C.small]}, `step ${formatStep(hd.last_step)}${hd.total_steps ? ` of ${formatStep(hd.total_steps)}` : ''}`,
          ` · ${sourceLabel(hd.source)}`,
          Array.isArray(hd.levels) ? ` · ${hd.levels.length} level${hd.levels.length === 1 ? '' : 's'}` : '',
          hd.embed_dim ? ` · D=${hd.embed_dim}` : ' · D unknown'),
        hd.status_reason ? h('span', {class: [C.muted, C.small, 'hj-status-reason']}, hd.status_reason) : null));
    }
    return h('div', {class: C.layout}, side, h('div', {class: C.content}, heads, tabs, h('div', {class: 'hj-view', dataset: {view}}, content)));
  }

  /** Metric charts of one category, every selected run overlaid. */
  async chartsView(items, ctx, token) {
    const metrics = this.catalog && Array.isArray(this.catalog.metrics) ? this.catalog.metrics : [];
    const byKey = new Map(metrics.map((m, i) => [m.key, Object.assign({order: i}, m)]));
    const catOrder = [];
    for (const m of metrics) if (!catOrder.includes(m.category)) catOrder.push(m.category);
    const tags = new Map(); // tag -> {tag, key, level, category, metric}
    for (const it of items) {
      for (const t of Array.isArray(it.health.tags) ? it.health.tags : []) {
        const metric = byKey.get(t.key) || null;
        if (metric && metric.kind && metric.kind !== 'scalar') continue;
        if (!tags.has(t.tag)) tags.set(t.tag, {tag: t.tag, key: t.key, level: t.level, category: t.category || (metric && metric.category) || 'other', metric});
      }
    }
    const counts = new Map();
    for (const t of tags.values()) counts.set(t.category, (counts.get(t.category) || 0) + 1);
    const cats = Array.from(counts.keys()).sort((a, b) => {
      const ia = catOrder.indexOf(a);
      const ib = catOrder.indexOf(b);
      return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib);
    });
    if (!cats.length) return h('p', {class: [C.card, C.muted]}, 'The selected run(s) have no catalogue curves.');
    const state = this.store.get();
    const category = cats.includes(state.category) ? state.category : cats[0];
    const list = Array.from(tags.values()).filter((t) => t.category === category).sort((a, b) =>
      ((a.metric ? a.metric.order : 999) - (b.metric ? b.metric.order : 999)) || ((a.level ?? -1) - (b.level ?? -1)) || (a.tag < b.tag ? -1 : 1));
    const needed = [];
    for (const t of list) {
      for (const it of items) {
        const has = (it.health.tags || []).some((x) => x.tag === t.tag);
        const k = `${it.run}\u0000${t.tag}`;
        if (has && !this.scalars.has(k)) needed.push({run: it.run, tag: t.tag, k});
      }
    }
    if (needed.length) {
      if (!this.main.querySelector('.hj-chart-grid')) {
        // Keep the layout visible while curves load.
        const loading = this.makeCtx();
        this.swap(this.runLayout(items.map((x) => x.run), 'charts', items,
          [categoryTabs(cats.map((c) => ({category: c, count: counts.get(c)})), category, (c) => this.store.set({category: c})),
            loadingView(`Loading ${list.length} ${categoryLabel(category).toLowerCase()} curves…`)]), loading.pending);
      }
      const results = await api.pool(needed.map((n) => () => api.getScalars(n.run, n.tag)), 4);
      if (token !== this.token) return null;
      needed.forEach((n, i) => this.scalars.set(n.k, results[i]));
    }
    const grid = h('div', {class: C.chartGrid});
    for (const t of list) {
      const series = [];
      for (const it of items) {
        const r = this.scalars.get(`${it.run}\u0000${t.tag}`);
        if (!r) continue;
        const light = (it.health.lights || []).find((l) => l.tag === t.tag) || null;
        const tagInfo = (it.health.tags || []).find((x) => x.tag === t.tag) || {};
        series.push({run: it.run, color: it.color, data: r.data && Array.isArray(r.data.data) ? r.data.data : null,
          error: r.error || (r.data && typeof r.data.error === 'string' ? r.data.error : null), light, dim: it.health.embed_dim,
          notes: [r.data && r.data.sampling_note, tagInfo.note].filter((n) => typeof n === 'string' && n)});
      }
      grid.appendChild(chartCard({tag: t.tag, metric: t.metric, series, smoothing: state.smoothing,
        logOverride: state.logScale[t.tag], onLog: (tag, on) => this.store.set({logScale: Object.assign({}, this.store.get().logScale, {[tag]: on})})}, ctx));
    }
    return h('div', {},
      this.catalogError ? h('p', {class: C.notice}, `The catalogue could not be loaded (${this.catalogError}): charts have no meanings or threshold bands.`) : null,
      categoryTabs(cats.map((c) => ({category: c, count: counts.get(c)})), category, (c) => this.store.set({category: c})),
      h('p', {class: [C.small, C.muted]}, 'Hover a chart or focus it and use the arrow keys to read values; ',
        'the smoothing slider applies TensorBoard’s debiased exponential moving average (the faint line is the raw curve).'),
      grid);
  }
}

const KEY_ATTRS = ['run', 'view', 'category', 'tag', 'key', 'level', 'branch', 'pattern', 'check', 'action'];

/** A stable name of an element across re-renders: its tag, first class and keyed ancestors. */
function identity(el, root) {
  const parts = [];
  for (let n = el; n && n !== root; n = n.parentElement) {
    const ds = n.dataset || {};
    const p = KEY_ATTRS.filter((a) => ds[a] !== undefined).map((a) => `${a}=${ds[a]}`).join(',');
    if (p) parts.push(p);
  }
  const cls = typeof el.className === 'string' ? el.className.split(' ')[0] : '';
  return `${el.tagName}.${cls}|${parts.join('/')}`;
}

/**
 * Listen to TensorBoard's plugin host (the iframe protocol of TensorBoard's
 * experimental plugin lib): on "experimental.DataReloaded", reload. Returns a disposer.
 */
function connectHost(onReload) {
  if (window.parent === window) return () => {};
  let channel;
  try {
    channel = new MessageChannel();
  } catch (e) {
    return () => {};
  }
  channel.port1.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (!msg || msg.isReply) return;
    if (msg.type === 'experimental.DataReloaded') onReload();
    channel.port1.postMessage(JSON.stringify({type: msg.type, id: msg.id, payload: null, error: null, isReply: true}));
  };
  try {
    window.parent.postMessage('experimental.bootstrap', window.location.origin, [channel.port2]);
  } catch (e) {
    // Not inside TensorBoard (a test page): the timer still reloads.
  }
  return () => channel.port1.close();
}

let app = null;

/** Entry point called by TensorBoard's plugin_entry.html. */
export function render() {
  if (app) {
    for (const t of app.timers) clearInterval(t);
    for (const d of app.disposers) d();
    for (const c of app.charts) c.destroy();
  }
  app = new App(document.body);
  app.start();
  return app;
}
