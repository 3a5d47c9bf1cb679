// The "H-JEPA Health" tab. TensorBoard's iframe page (/data/plugin_entry.html?name=hjepa,
// <base href="plugin/hjepa/">) imports this module and calls render().
//
// index.js wires state -> api -> views: it follows the UI state (lib/state.js, mirrored
// in the URL hash by page/hash_sync.js), fetches what the visible view needs
// (lib/api.js), ignores answers that arrive after the user moved on, hands the data to
// the view's build function (views/views.js) and destroys the previous view's charts.
// The tab computes no verdict: every status, threshold and text comes from the `health`
// and `catalog` routes.
//
// Shelves, each importing only from itself and the shelves above it:
//   lib/     no DOM: the routes, catalogue look-ups, numbers and labels as text, bands,
//            curves, the timeline's stretches, the URL hash format, the UI state, class
//            names and colours (the node tests import these)
//   page/    the browser page: the element builder, mounting, the theme, the URL hash
//            kept in step with the state, TensorBoard's plugin host
//   charts/  drawing: the chart frame, line and stack charts, sparklines, the chart card,
//            the timeline strip
//   views/   what the user reads: the bar, the runs overview, the run layout and
//            headers, the views and their list (views.js), loading/error/empty pages

import * as api from './lib/api.js';
import {C} from './lib/classes.js';
import {DEFAULT_STATUS_ORDER, formatClock} from './lib/format.js';
import {RUN_COLORS} from './lib/palette.js';
import {columnsFromRows} from './lib/series.js';
import {createStore} from './lib/state.js';
import {h} from './page/dom.js';
import {syncHash} from './page/hash_sync.js';
import {connectHost} from './page/host.js';
import {replaceContent} from './page/mount.js';
import {followTheme} from './page/theme.js';
import {overviewView} from './views/overview.js';
import {emptyView, errorView, loadingView} from './views/placeholders.js';
import {runLayout} from './views/run_layout.js';
import {createShell} from './views/shell.js';
import {VIEWS, viewById} from './views/views.js';

const RELOAD_MS = 30000;
const DEFAULT_VIEW = VIEWS[0].id;

/** The tab: one instance per render(); stop() undoes everything start() set up. */
class App {
  /** @param {HTMLElement} mount the page's <body> */
  constructor(mount) {
    this.mount = mount;
    this.store = createStore();
    this.runs = null; // rows of the runs route
    this.runsError = null;
    this.runsHint = null; // the runs answer's hint when it lists no run: the tags it saw
    this.catalog = null;
    this.catalogError = null;
    this.health = new Map(); // D \0 run -> {data} | {error}
    this.curves = new Map(); // run \0 tag -> {columns, error, note}
    this.charts = []; // live charts of the current view
    this.current = null; // {spec, onState, dispose} of the view on screen
    this.checked = []; // runs ticked in the overview
    this.token = 0; // bumps on every render; stale async work compares it
    this.lastRefresh = 0;
    this.refreshing = null;
    this.disposers = [];
  }

  start() {
    document.documentElement.lang = document.documentElement.lang || 'en';
    if (!document.querySelector('link[data-hjepa-style]')) {
      document.head.appendChild(
        h('link', {rel: 'stylesheet', href: './style.css', 'data-hjepa-style': '1'}),
      );
    }
    document.title = 'H-JEPA Health';
    const theme = followTheme(document.documentElement);
    this.disposers.push(theme.dispose);
    const state = this.store.get();
    this.shell = createShell({
      smoothing: state.smoothing,
      dim: state.dim,
      onBack: () => this.store.set({view: 'overview'}),
      onSmoothing: (v) => this.store.set({smoothing: v}),
      onDim: (dim) => this.store.set({dim}),
      onReload: () => this.refresh({force: true}),
    });
    this.mount.textContent = '';
    this.mount.appendChild(this.shell.el);
    this.shell.main.appendChild(loadingView('Loading runs…'));
    this.disposers.push(
      syncHash(this.store, {
        isView: (id) => !!viewById(id),
        defaultView: DEFAULT_VIEW,
        onProblems: (problems) =>
          this.shell.notice(`Parts of the link were left out: ${problems.join('; ')}.`, {
            id: 'hash',
          }),
      }),
    );
    this.shell.setDim(this.store.get().dim); // the link may have set it
    this.shell.setSmoothing(this.store.get().smoothing);
    this.disposers.push(this.store.subscribe((s, changed) => this.onState(s, changed)));
    const timer = setInterval(() => {
      if (!document.hidden) this.refresh();
    }, RELOAD_MS);
    this.disposers.push(() => clearInterval(timer));
    const onVisible = () => {
      if (!document.hidden && Date.now() - this.lastRefresh > 5000) this.refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    this.disposers.push(() => document.removeEventListener('visibilitychange', onVisible));
    this.disposers.push(connectHost(() => this.refresh()));
    this.refresh();
  }

  stop() {
    for (const d of this.disposers) d();
    this.disposers = [];
    this.clearView();
  }

  onState(state, changed) {
    if (changed.includes('smoothing')) this.shell.setSmoothing(state.smoothing);
    if (changed.includes('dim')) {
      this.shell.setDim(state.dim);
      this.refresh(); // every verdict depends on D
      return;
    }
    const live = this.current?.spec ? this.current.spec.live || [] : [];
    if (this.current?.onState && changed.every((k) => live.includes(k))) {
      this.current.onState(state, changed);
      return;
    }
    this.renderView();
  }

  /**
   * Re-fetch the runs (and the catalogue once), forget cached verdicts, render. Curves
   * are kept for runs whose last step did not move (a 30-second reload of an idle run
   * does not download its 100,000-point curves again); `force` (the Reload and Retry
   * buttons) forgets them all.
   * @param {{force?: boolean}} [o]
   */
  async refresh({force = false} = {}) {
    if (force) this.forceNext = true;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        this.lastRefresh = Date.now();
        const dim = this.store.get().dim;
        const [runs, catalog] = await Promise.all([
          api.getRuns(dim),
          this.catalog ? Promise.resolve({data: this.catalog}) : api.getCatalog(),
        ]);
        if (dim !== this.store.get().dim) {
          this.refreshAgain = true; // the user changed D meanwhile: that answer is stale
          continue;
        }
        if (dim && runs.status === 400) {
          // The routes refused this D (out of their range): say so and judge without it.
          this.store.set({dim: null});
          this.shell.refuseDim(`D=${dim} refused: ${runs.error}`);
          this.refreshAgain = true;
          continue;
        }
        if (catalog.data) this.catalog = catalog.data;
        this.catalogError = catalog.error || null;
        const before = new Map((this.runs || []).map((r) => [r.run, r.last_step]));
        if (runs.error) {
          this.runsError = runs.error;
        } else {
          this.runsError =
            typeof runs.data.error === 'string' && runs.data.error ? runs.data.error : null;
          this.runs = Array.isArray(runs.data.runs)
            ? runs.data.runs.filter((r) => r && typeof r.run === 'string')
            : [];
          this.runsHint =
            runs.data.hint && typeof runs.data.hint.text === 'string' ? runs.data.hint : null;
        }
        this.health.clear();
        this.keepCurves(this.forceNext ? null : before);
        this.forceNext = false;
        this.shell.setUpdated(`Updated ${formatClock(new Date())}`);
        await this.renderView();
      } while (this.refreshAgain);
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  /** Forget the curves of runs whose last step changed (all of them for `before` null). */
  keepCurves(before) {
    if (!before) {
      this.curves.clear();
      return;
    }
    const now = new Map((this.runs || []).map((r) => [r.run, r.last_step]));
    for (const key of Array.from(this.curves.keys())) {
      const run = key.slice(0, key.indexOf('\u0000'));
      const step = now.get(run);
      if (step === undefined || step === null || step !== before.get(run)) this.curves.delete(key);
    }
  }

  statusOrder() {
    return this.catalog && Array.isArray(this.catalog.statuses)
      ? this.catalog.statuses
      : DEFAULT_STATUS_ORDER;
  }

  runColor(run) {
    const i = (this.runs || []).findIndex((r) => r.run === run);
    return RUN_COLORS[Math.max(i, 0) % RUN_COLORS.length];
  }

  clearView() {
    if (this.current?.dispose) this.current.dispose();
    this.current = null;
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  /** Replace the main area's content; destroys the old view's charts first. */
  swap(node, mounted = [], current = null) {
    this.clearView();
    this.current = current;
    replaceContent(this.shell.main, node, mounted);
  }

  async renderView() {
    const token = ++this.token;
    const state = this.store.get();
    if (this.runs === null || this.runsError) {
      if (this.runsError)
        this.swap(errorView('the runs', this.runsError, () => this.refresh({force: true})));
      return;
    }
    const known = new Set(this.runs.map((r) => r.run));
    const selected = state.selected.filter((r) => known.has(r));
    const unknown = state.selected.filter((r) => !known.has(r));
    if (unknown.length && state.view !== 'overview') {
      this.shell.notice(
        `Not (yet) in this log directory: ${unknown.map((r) => `“${r}”`).join(', ')}.`,
        {id: 'unknown-runs'},
      );
    } else {
      this.shell.clearNotice('unknown-runs');
    }
    this.checked = this.checked.filter((r) => known.has(r));
    const spec =
      selected.length && state.view !== 'overview'
        ? viewById(state.view) || viewById(DEFAULT_VIEW)
        : null;
    this.shell.setView(spec);
    if (!spec) {
      this.swap(this.runs.length ? this.overview() : emptyView(this.catalog, this.runsHint));
      return;
    }
    const dim = state.dim;
    const hkey = (run) => `${dim || ''}\u0000${run}`;
    const missing = selected.filter((r) => !this.health.has(hkey(r)));
    if (missing.length) {
      if (!this.shell.main.querySelector(`.${C.layout}`))
        this.swap(loadingView('Loading diagnosis…'));
      const results = await api.pool(
        missing.map((run) => () => api.getHealth(run, dim)),
        3,
      );
      if (token !== this.token) return; // the user moved on
      missing.forEach((run, i) => {
        this.health.set(hkey(run), results[i]);
      });
    }
    const items = [];
    const errors = [];
    for (const run of selected) {
      const r = this.health.get(hkey(run));
      if (r?.data) items.push({run, color: this.runColor(run), health: r.data});
      else
        errors.push(
          errorView(`the health of run “${run}”`, r ? r.error : 'no answer', () =>
            this.refresh({force: true}),
          ),
        );
    }
    const layout = (content) =>
      runLayout(
        {
          runs: this.runs,
          selected,
          color: (run) => this.runColor(run),
          items,
          view: spec.id,
          onToggleRun: (run, on) => {
            const cur = this.store.get().selected.filter((x) => x !== run && known.has(x));
            const next = on ? [...cur, run] : cur;
            if (!next.length) return false;
            this.store.set({selected: next});
            return true;
          },
          onView: (id) => this.store.set({view: id, lastView: id}),
        },
        content,
      );
    if (!items.length) {
      this.swap(layout(errors));
      return;
    }
    const pending = [];
    const env = {
      items,
      catalog: this.catalog,
      catalogError: this.catalogError,
      statusOrder: this.statusOrder(),
      state,
      get: () => this.store.get(),
      set: (patch) => this.store.set(patch),
      curve: (run, tag) => this.curves.get(`${run}\u0000${tag}`),
      loadCurves: (pairs) => this.loadCurves(pairs),
      track: (chart) => {
        this.charts.push(chart);
        return chart;
      },
      afterMount: (fn) => pending.push(fn),
      interim: (node) => {
        if (token !== this.token) return;
        const shown = this.shell.main.querySelector(`.${C.view}`);
        if (shown && shown.dataset.view === spec.id) return; // keep the old content until ready
        this.swap(layout([errors, node]));
      },
      stale: () => token !== this.token,
    };
    const out = await spec.build(env);
    if (out === null || token !== this.token) return;
    const isNode = out instanceof Node;
    this.swap(layout([errors, isNode ? out : out.node]), pending, {
      spec,
      onState: isNode ? null : out.onState,
      dispose: isNode ? null : out.dispose,
    });
  }

  /** Fetch curves not loaded yet and keep them as columns until the next reload. */
  async loadCurves(pairs) {
    const todo = pairs.filter((p) => !this.curves.has(`${p.run}\u0000${p.tag}`));
    const results = await api.pool(
      todo.map((p) => () => api.getScalars(p.run, p.tag)),
      4,
    );
    todo.forEach((p, i) => {
      const r = results[i];
      const body = r.data;
      this.curves.set(`${p.run}\u0000${p.tag}`, {
        columns: body && Array.isArray(body.data) ? columnsFromRows(body.data) : null,
        error: r.error || (body && typeof body.error === 'string' ? body.error : null),
        note: body && typeof body.sampling_note === 'string' ? body.sampling_note : null,
      });
    });
  }

  overview() {
    const open = (runs) => {
      const last = this.store.get().lastView;
      this.store.set({selected: runs, view: viewById(last) ? last : DEFAULT_VIEW});
    };
    return overviewView({
      runs: this.runs,
      checked: this.checked,
      statusOrder: this.statusOrder(),
      onOpen: (run) => open([run]),
      onOpenMany: () => this.checked.length && open(this.checked.slice()),
      onCheck: (run, on) => {
        this.checked = on
          ? Array.from(new Set([...this.checked, run]))
          : this.checked.filter((r) => r !== run);
      },
    });
  }
}

let app = null;

/** Entry point called by TensorBoard's plugin_entry.html. */
export function render() {
  if (app) app.stop();
  app = new App(document.body);
  app.start();
  return app;
}
