// The "Charts" view: every catalogue curve of the selected runs, one category at a
// time, each tag a card with the runs overlaid. The curves of a category are fetched
// once (the app caches them as columns until the next reload); smoothing changes
// redraw the charts in place, without rebuilding the view.

import {chartCard} from '../charts/chart_card.js';
import {categoryOrder} from '../lib/catalog.js';
import {C} from '../lib/classes.js';
import {categoryLabel} from '../lib/format.js';
import {leftHealthy} from '../lib/timeline.js';
import {h} from '../page/dom.js';
import {loadingView} from './placeholders.js';

/** Category tabs (buttons; the arrow keys move between them). */
function categoryTabs(categories, active, onPick) {
  const bar = h('div', {class: C.tabs, role: 'tablist', 'aria-label': 'metric categories'});
  for (const {category, count} of categories) {
    bar.appendChild(
      h(
        'button',
        {
          class: [C.tab, category === active && C.tabActive],
          type: 'button',
          role: 'tab',
          'aria-selected': String(category === active),
          dataset: {category},
          on: {
            click: () => onPick(category),
            keydown: (ev) => {
              const tabs = Array.from(bar.querySelectorAll('button'));
              const i = tabs.indexOf(ev.currentTarget);
              if (ev.key === 'ArrowRight' && tabs[i + 1]) tabs[i + 1].focus();
              if (ev.key === 'ArrowLeft' && tabs[i - 1]) tabs[i - 1].focus();
            },
          },
        },
        categoryLabel(category),
        h('span', {class: C.tabCount}, String(count)),
      ),
    );
  }
  return bar;
}

/** The scalar curves of the selected runs: tag -> {tag, key, level, category, metric}. */
function curvesOf(items, catalog) {
  const metrics = catalog && Array.isArray(catalog.metrics) ? catalog.metrics : [];
  const byKey = new Map(metrics.map((m, i) => [m.key, Object.assign({order: i}, m)]));
  const tags = new Map();
  for (const it of items) {
    for (const t of Array.isArray(it.health.tags) ? it.health.tags : []) {
      if (!t || typeof t.tag !== 'string') continue;
      const metric = byKey.get(t.key) || null;
      if (metric?.kind && metric.kind !== 'scalar') continue;
      if (!tags.has(t.tag))
        tags.set(t.tag, {
          tag: t.tag,
          key: t.key,
          level: t.level,
          category: t.category || metric?.category || 'other',
          metric,
        });
    }
  }
  return tags;
}

/**
 * @param {import('./views.js').ViewEnv} env
 * @returns {Promise<{node: HTMLElement, onState: Function}|HTMLElement|null>}
 */
export async function buildCharts(env) {
  const {items, catalog, state} = env;
  const tags = curvesOf(items, catalog);
  const order = categoryOrder(catalog);
  const counts = new Map();
  for (const t of tags.values()) counts.set(t.category, (counts.get(t.category) || 0) + 1);
  const rank = (c) => (order.indexOf(c) < 0 ? 999 : order.indexOf(c));
  const cats = Array.from(counts.keys()).sort((a, b) => rank(a) - rank(b));
  if (!cats.length)
    return h('p', {class: [C.card, C.muted]}, 'The selected run(s) have no catalogue curves.');
  const category = cats.includes(state.category) ? state.category : cats[0];
  const tabs = () =>
    categoryTabs(
      cats.map((c) => ({category: c, count: counts.get(c)})),
      category,
      (c) => env.set({category: c}),
    );
  const list = Array.from(tags.values())
    .filter((t) => t.category === category)
    .sort(
      (a, b) =>
        (a.metric ? a.metric.order : 999) - (b.metric ? b.metric.order : 999) ||
        (a.level ?? -1) - (b.level ?? -1) ||
        (a.tag < b.tag ? -1 : 1),
    );

  const has = (it, tag) => (it.health.tags || []).some((x) => x && x.tag === tag);
  const needed = [];
  for (const t of list)
    for (const it of items)
      if (has(it, t.tag) && !env.curve(it.run, t.tag)) needed.push({run: it.run, tag: t.tag});
  if (needed.length) {
    env.interim(
      h(
        'div',
        {},
        tabs(),
        loadingView(`Loading ${list.length} ${categoryLabel(category).toLowerCase()} curves…`),
      ),
    );
    await env.loadCurves(needed);
    if (env.stale()) return null;
  }

  const cards = [];
  const grid = h('div', {class: C.chartGrid});
  for (const t of list) {
    const series = [];
    for (const it of items) {
      const r = env.curve(it.run, t.tag);
      if (!r) continue;
      const light = (it.health.lights || []).find((l) => l.tag === t.tag) || null;
      const tagInfo = (it.health.tags || []).find((x) => x && x.tag === t.tag) || {};
      series.push({
        run: it.run,
        color: it.color,
        columns: r.columns,
        error: r.error,
        light,
        dim: it.health.embed_dim,
        left: leftHealthy(it.health, t.key, t.level),
        notes: [r.note, tagInfo.note].filter((n) => typeof n === 'string' && n),
      });
    }
    const card = chartCard(
      {
        tag: t.tag,
        metric: t.metric,
        series,
        smoothing: state.smoothing,
        logOverride: state.logScale[t.tag],
        onLog: (tag, on) => env.set({logScale: Object.assign({}, env.get().logScale, {[tag]: on})}),
      },
      env,
    );
    cards.push(card);
    grid.appendChild(card.el);
  }

  // Smoothing redraws every chart once per animation frame, however fast the slider moves.
  let frame = 0;
  let smoothing = state.smoothing;
  const onState = (next, changed) => {
    if (!changed.includes('smoothing')) return; // a log toggle redraws its own chart
    smoothing = next.smoothing;
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      for (const c of cards) {
        const chart = c.chart();
        if (chart) chart.update({smoothing});
      }
    });
  };
  const node = h(
    'div',
    {},
    env.catalogError
      ? h(
          'p',
          {class: C.notice},
          `The catalogue could not be loaded (${env.catalogError}): charts have no meanings or threshold bands.`,
        )
      : null,
    tabs(),
    h(
      'p',
      {class: [C.small, C.muted]},
      'Hover a chart or focus it and use the arrow keys to read values; ',
      'the smoothing slider applies TensorBoard’s debiased exponential moving average (the faint line is the raw curve). ',
      'Lines are drawn at screen resolution (lowest and highest point of each pixel column); the CSV holds every point.',
    ),
    grid,
  );
  return {node, onState, dispose: () => frame && cancelAnimationFrame(frame)};
}
