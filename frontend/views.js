// DOM builders of the tab. Each returns an element; charts it creates are registered
// with `ctx.track(chart)` so the caller can destroy them when the view is replaced.
// Every run name, tag and backend text goes in through text nodes, never as HTML.

import {C, statusClass} from './classes.js';
import {STATUS_COLORS, createLineChart, createStackChart, sparkline, svg} from './chart.js';
import {
  categoryLabel, comparisonText, formatPercent, formatStep, formatValue,
  normaliseText, num, resolveBound, spansDecades, statusRank, toCsv, safeFileName,
} from './format.js';

/** TensorBoard's run palette. */
export const RUN_COLORS = ['#ff7043', '#0077bb', '#009988', '#ee3377', '#33bbee', '#cc3311', '#7b1fa2', '#616161'];
/** Colours of hierarchy levels (finest first). */
export const LEVEL_COLORS = ['#5b8def', '#f4a259', '#8bc34a', '#ba68c8', '#4db6ac', '#e57373'];

/**
 * Build an element. `attrs`: `class`, `dataset` (object), `on` (event -> handler),
 * anything else as an attribute. Children: nodes, or strings (added as text nodes).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Small SVG icon of a status (shape differs per status, not only colour). */
export function statusIcon(status) {
  const color = STATUS_COLORS[status] || STATUS_COLORS.unknown;
  const el = svg('svg', {class: C.statusIcon, width: 14, height: 14, viewBox: '0 0 16 16', 'aria-hidden': 'true'});
  const white = {stroke: '#fff', 'stroke-width': 2, fill: 'none', 'stroke-linecap': 'round', 'stroke-linejoin': 'round'};
  if (status === 'healthy') {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M4.5 8.3l2.3 2.3 4.7-4.8'}, white)));
  } else if (status === 'warning') {
    el.appendChild(svg('path', {d: 'M8 0.8L15.5 14.6H0.5Z', fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M8 5.5v4.2M8 12.2v0.2'}, white)));
  } else if (status === 'collapse') {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6'}, white)));
  } else if (status === 'critical') {
    el.appendChild(svg('path', {d: 'M5 0.5h6l4.5 4.5v6L11 15.5H5L0.5 11V5Z', fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M8 4v5M8 11.8v0.2'}, white)));
  } else {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M6 6.2a2 2 0 1 1 2.6 1.9c-.5.2-.6.6-.6 1.1M8 11.8v0.2'}, white)));
  }
  return el;
}

/** A status shown as icon + word, with `data-status`. */
export function statusBadge(status, {label = null, compact = false} = {}) {
  const s = typeof status === 'string' && status ? status : 'unknown';
  return h('span', {class: [C.status, statusClass(s), compact && 'hj-status-compact'], dataset: {status: s}},
    statusIcon(s), h('span', {class: C.statusWord}, label || s));
}

function runSwatch(color) {
  const el = h('span', {class: C.runSwatch, 'aria-hidden': 'true'});
  el.style.background = color;
  return el;
}

/** A tag as text with break opportunities after each "/" (text nodes only). */
export function tagText(tag) {
  const span = h('span', {class: C.mono});
  String(tag).split('/').forEach((part, i, all) => {
    span.appendChild(document.createTextNode(part + (i < all.length - 1 ? '/' : '')));
    if (i < all.length - 1) span.appendChild(document.createElement('wbr'));
  });
  return span;
}

/** "level 1" or "" for a run-wide metric. */
function levelText(level) {
  return level === null || level === undefined ? '' : `level ${level}`;
}

/** The short name of a catalogue key ("collapse.effective_rank" -> "effective rank"). */
export function keyLabel(key, {withCategory = false} = {}) {
  const s = String(key || '');
  if (withCategory) return s.replace(/[._]/g, ' ');
  const tail = s.includes('.') ? s.slice(s.indexOf('.') + 1) : s;
  return tail.replace(/_/g, ' ');
}

const SOURCE_LABELS = {hjepa: 'H-JEPA summary API', plain: 'plain scalars', upstream: 'upstream H-JEPA tags'};
export function sourceLabel(source) {
  return SOURCE_LABELS[source] || String(source || 'unknown');
}

// ---------------------------------------------------------------- states

/** Loading placeholder. */
export function loadingView(text = 'Loading…') {
  return h('div', {class: C.loading, role: 'status'}, h('span', {class: 'hj-spinner', 'aria-hidden': 'true'}), text);
}

/** Error state: what failed, the message, and a retry button. */
export function errorView(what, message, onRetry) {
  return h('div', {class: [C.card, C.error], role: 'alert'},
    h('div', {class: 'hj-error-head'}, statusIcon('critical'), h('strong', {}, `Could not load ${what}`)),
    h('p', {class: C.mono}, message || 'unknown error'),
    h('p', {class: C.muted}, 'The H-JEPA plugin route failed. Check the TensorBoard server log; the tab retries on the next reload.'),
    onRetry ? h('button', {class: [C.button, C.buttonPrimary], type: 'button', on: {click: onRetry}}, 'Retry') : null);
}

/**
 * Empty state: how to produce logs this tab reads. Tag and key examples come from the
 * catalogue (never spelled here).
 */
export function emptyView(catalog) {
  const metrics = (catalog && Array.isArray(catalog.metrics)) ? catalog.metrics.filter((m) => m.kind === 'scalar') : [];
  const runWide = metrics.find((m) => !m.per_level && m.rule) || metrics.find((m) => !m.per_level);
  const perLevel = metrics.find((m) => m.per_level && m.rule && m.rule.normalise && m.rule.normalise !== 'none') ||
    metrics.find((m) => m.per_level);
  const fill = (tag) => String(tag).replace('{i}', '0');
  const apiLines = ['from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter', '',
    'manifest = RunManifest(num_levels=3, hierarchy_weights=[1.0, 0.5, 0.25], embed_dim=192)',
    'with SummaryWriter("runs/exp1", manifest=manifest) as writer:'];
  if (runWide) apiLines.push(`    writer.scalar(${JSON.stringify(runWide.key)}, loss, step=step)`);
  if (perLevel) apiLines.push(`    writer.scalar(${JSON.stringify(perLevel.key)}, value, step=step, level=0)`);
  const plainLines = ['from torch.utils.tensorboard import SummaryWriter', '', 'writer = SummaryWriter("runs/exp1")'];
  if (runWide) plainLines.push(`writer.add_scalar(${JSON.stringify(runWide.tag)}, loss, step)`);
  if (perLevel) plainLines.push(`writer.add_scalar(${JSON.stringify(fill(perLevel.tag))}, value, step)`);
  const code = (lines) => h('pre', {class: C.code}, lines.join('\n'));
  return h('div', {class: [C.card, C.empty]},
    h('div', {class: 'hj-empty-head'}, statusIcon('unknown'), h('h2', {}, 'No H-JEPA runs in this log directory')),
    h('p', {}, 'This tab lists runs that log the metrics of the H-JEPA metric reference. ' +
      'Write them in one of three ways, then point TensorBoard at the directory (tensorboard --logdir runs).'),
    h('ol', {class: 'hj-empty-steps'},
      h('li', {}, h('strong', {}, 'Train with the bundled trainer. '),
        'Install the training extra and run it; it logs every catalogue metric and a run manifest.',
        code(["pip install 'tensorboard-plugin-hjepa[train]'", 'hjepa-train --logdir runs            # bundled tiny CPU config',
          'hjepa-train --config my.yaml --set KEY=VALUE --logdir runs', 'tensorboard --logdir runs'])),
      h('li', {}, h('strong', {}, 'Use the summary API '), 'from your own training loop (metrics by catalogue key):', code(apiLines)),
      h('li', {}, h('strong', {}, 'Log plain scalars '), "with the reference's tag names (any SummaryWriter). " +
        'Without a manifest, hierarchy weights and the embedding dimension are unknown and the lights that need them say so.',
        code(plainLines))),
    h('p', {class: C.muted}, 'Logs of the upstream H-JEPA implementation (train/loss, train/loss_h0, …) are read too. ' +
      (metrics.length ? `The catalogue knows ${metrics.length} metrics.` : '')));
}

// ---------------------------------------------------------------- overview

/**
 * Runs overview: one row per run with status, last step, source, worst lights.
 * @param {Object} p
 * @param {Array} p.runs rows of the `runs` route
 * @param {string[]} p.checked runs ticked for comparison
 * @param {(run: string) => void} p.onOpen
 * @param {() => void} p.onOpenMany opens the ticked runs
 * @param {(run: string, on: boolean) => void} p.onCheck
 */
export function overviewView({runs, checked, onOpen, onOpenMany, onCheck, statusOrder}) {
  const counts = {};
  for (const r of runs) counts[r.status || 'unknown'] = (counts[r.status || 'unknown'] || 0) + 1;
  const summary = h('div', {class: 'hj-overview-summary'},
    h('span', {class: 'hj-overview-count'}, `${runs.length} run${runs.length === 1 ? '' : 's'}`),
    ...statusOrder.slice().reverse().filter((s) => counts[s]).map((s) => statusBadge(s, {label: `${counts[s]} ${s}`, compact: true})));
  const compare = h('button', {class: [C.button, C.buttonPrimary], type: 'button', disabled: checked.length < 1,
    'data-action': 'open-selected', on: {click: () => onOpenMany()}},
  checked.length > 1 ? `Compare ${checked.length} selected runs` : checked.length === 1 ? 'Open selected run' : 'Select runs to compare');

  const head = h('thead', {}, h('tr', {},
    h('th', {class: 'hj-col-check'}, h('span', {class: 'hj-sr-only'}, 'select')),
    h('th', {}, 'Run'), h('th', {}, 'Status'), h('th', {class: 'hj-num'}, 'Last step'),
    h('th', {}, 'Source'), h('th', {class: 'hj-num'}, 'Levels'), h('th', {class: 'hj-num'}, 'Dim'), h('th', {}, 'Worst lights')));
  const body = h('tbody');
  runs.forEach((r, i) => {
    const name = String(r.run);
    const box = h('input', {type: 'checkbox', 'aria-label': `select run ${name}`,
      on: {change: (ev) => onCheck(name, ev.target.checked), click: (ev) => ev.stopPropagation()}});
    box.checked = checked.includes(name);
    const worst = h('div', {class: 'hj-worst'});
    const lights = Array.isArray(r.worst) ? r.worst : [];
    if (!lights.length) worst.appendChild(h('span', {class: C.muted}, '—'));
    for (const w of lights) {
      worst.appendChild(h('span', {class: 'hj-worst-item'}, statusBadge(w.status, {compact: true}),
        h('span', {class: 'hj-worst-name'}, `${keyLabel(w.key, {withCategory: true})}${w.level === null || w.level === undefined ? '' : ` · L${w.level}`}`)));
    }
    const row = h('tr', {class: C.runRow, dataset: {run: name, status: r.status || 'unknown'},
      on: {click: () => onOpen(name)}},
    h('td', {class: 'hj-col-check'}, box),
    h('td', {}, h('button', {class: [C.linkButton, C.runName], type: 'button', title: `open ${name}`,
      on: {click: (ev) => {
        ev.stopPropagation();
        onOpen(name);
      }}}, runSwatch(RUN_COLORS[i % RUN_COLORS.length]), h('span', {class: 'hj-run-text'}, name))),
    h('td', {}, statusBadge(r.status),
      r.status_reason ? h('div', {class: [C.muted, C.small, 'hj-status-reason']}, r.status_reason) : null),
    h('td', {class: 'hj-num'}, formatStep(r.last_step)),
    h('td', {}, h('span', {class: C.pill, dataset: {source: r.source || ''}}, sourceLabel(r.source))),
    h('td', {class: 'hj-num'}, r.levels === null || r.levels === undefined ? '—' : String(r.levels)),
    h('td', {class: 'hj-num'}, r.embed_dim === null || r.embed_dim === undefined ? '—' : String(r.embed_dim)),
    h('td', {}, worst));
    body.appendChild(row);
  });
  return h('section', {class: C.section, 'aria-label': 'runs overview'},
    h('div', {class: 'hj-overview-head'}, h('h2', {class: C.sectionTitle}, 'Runs'), summary, h('span', {class: C.barSpacer}), compare),
    h('div', {class: C.card}, h('table', {class: C.table}, head, body)),
    h('p', {class: [C.muted, C.small]}, 'Open a run to see its collapse lights, hierarchy shares, diagnosis and curves. ' +
      'Tick several runs to compare them side by side.'));
}

// ---------------------------------------------------------------- lights

function thresholdLine(light, dim) {
  const t = light.threshold;
  const parts = [];
  if (t && t.op) {
    parts.push(h('span', {}, `${t.status || ''} if `, h('span', {class: C.mono}, comparisonText(t.op, t.bound, dim))));
  } else if (Array.isArray(light.bands) && light.bands.length) {
    const b = light.bands[light.bands.length - 1];
    parts.push(h('span', {}, `${b.status} if `, h('span', {class: C.mono}, comparisonText(b.op, b.bound, dim))));
  }
  return parts;
}

/** One traffic light (a collapse metric at one level of one run). */
export function lightView(light, {dim = null, runName = null, runColor = null, showRun = false} = {}) {
  const status = light.status || 'unknown';
  const value = num(light.value);
  const judged = num(light.judged_value);
  const rule = normaliseText(light.normalise, dim);
  const win = light.window;
  const bandsList = h('ul', {class: 'hj-bands-list'});
  for (const b of Array.isArray(light.bands) ? light.bands : []) {
    bandsList.appendChild(h('li', {}, statusBadge(b.status, {compact: true}), ' ',
      h('span', {class: C.mono}, comparisonText(b.op, b.bound, dim)), ' — ', b.text || '',
      b.source ? h('span', {class: C.muted}, ` (${b.source})`) : null));
  }
  if (light.healthy_text) bandsList.appendChild(h('li', {}, statusBadge('healthy', {compact: true}), ' ', light.healthy_text));
  const notes = (Array.isArray(light.notes) ? light.notes : []).map((n) => h('p', {class: C.small}, typeof n === 'string' ? n : (n && n.text) || ''));
  const corr = light.correction;
  const el = h('div', {class: [C.light, statusClass(status)], tabindex: '0',
    dataset: {status, key: light.key || '', level: light.level === null || light.level === undefined ? '' : light.level, run: runName || ''},
    'aria-label': `${runName ? runName + ', ' : ''}${keyLabel(light.key)} ${levelText(light.level)}: ${status}`},
  showRun && runName ? h('div', {class: C.lightRun}, runSwatch(runColor || '#888'), h('span', {}, runName)) : null,
  h('div', {class: 'hj-light-top'}, statusBadge(status), sparkline(light.sparkline, {color: STATUS_COLORS[status], label: `recent ${keyLabel(light.key)}`, width: showRun ? 72 : 112})),
  h('div', {class: C.lightValue},
    h('span', {class: 'hj-light-number'}, formatValue(value)),
    judged !== null && light.normalise && light.normalise !== 'none'
      ? h('span', {class: C.muted}, ` → judged ${formatValue(judged, 3)}`) : null),
  h('div', {class: C.lightRule}, ...thresholdLine(light, dim), rule && !showRun ? h('div', {class: C.muted}, rule) : null),
  status === 'unknown' && light.explanation ? h('div', {class: [C.small, C.muted, 'hj-light-why']}, light.explanation) : null,
  h('details', {class: C.details},
    h('summary', {}, 'why'),
    rule && showRun ? h('p', {}, rule) : null,
    win && win.start_step !== undefined ? h('p', {class: C.muted}, `Value: ${win.statistic || 'window'} over steps ${formatStep(win.start_step)}–${formatStep(win.end_step)} (${win.points} points${win.non_finite ? `, ${win.non_finite} non-finite` : ''}).`) : null,
    light.explanation && status !== 'unknown' ? h('p', {}, light.explanation) : null,
    bandsList,
    ...notes,
    corr ? h('p', {class: C.small}, h('strong', {}, 'Corrected rule: '), corr.rule || '', h('br'),
      h('span', {class: C.muted}, `Reference: ${corr.reference_says || ''}. Why: ${corr.why || ''}`)) : null,
    light.tag ? h('p', {class: [C.small, C.mono]}, light.tag) : null));
  return el;
}

/**
 * Collapse traffic-light grid: levels x collapse metrics; several runs side by side
 * inside each cell. Other lights follow as a table.
 * @param {Array<{run: string, color: string, health: object}>} items
 */
export function lightsView(items) {
  const collapseKeys = [];
  const levels = [];
  const others = [];
  for (const it of items) {
    for (const l of it.health.lights || []) {
      if (l.category === 'collapse') {
        if (!collapseKeys.includes(l.key)) collapseKeys.push(l.key);
        if (!levels.includes(l.level)) levels.push(l.level);
      } else {
        others.push({it, l});
      }
    }
  }
  levels.sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
  const multi = items.length > 1;
  const section = h('section', {class: C.section, 'aria-label': 'collapse traffic lights'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Collapse traffic lights'));
  for (const it of items) {
    if (it.health.dim_note) section.appendChild(h('p', {class: C.notice}, statusIcon('unknown'), ' ', multi ? `${it.run}: ` : '', it.health.dim_note));
  }
  if (!collapseKeys.length) {
    section.appendChild(h('p', {class: [C.card, C.muted]}, 'No collapse metric has a verdict for the selected run(s).'));
  } else {
    const grid = h('div', {class: C.lightGrid, role: 'table', 'aria-label': 'levels by collapse metric'});
    grid.style.gridTemplateColumns = `4.5em repeat(${collapseKeys.length}, minmax(${multi ? 10 * items.length : 13}em, 1fr))`;
    grid.appendChild(h('div', {class: 'hj-grid-corner', role: 'columnheader'}, 'level'));
    for (const key of collapseKeys) {
      const sample = items.map((it) => (it.health.lights || []).find((l) => l.key === key)).find(Boolean);
      grid.appendChild(h('div', {class: 'hj-grid-colhead', role: 'columnheader'},
        h('div', {class: 'hj-grid-colname'}, keyLabel(key)),
        sample && sample.normalise && sample.normalise !== 'none'
          ? h('div', {class: [C.small, C.muted]}, normaliseText(sample.normalise)) : h('div', {class: [C.small, C.muted]}, 'absolute')));
    }
    for (const level of levels) {
      grid.appendChild(h('div', {class: 'hj-grid-rowhead', role: 'rowheader'}, level === null ? 'all' : `L${level}`));
      for (const key of collapseKeys) {
        const cell = h('div', {class: [C.lightCell, multi && 'hj-light-cell-multi'], role: 'cell'});
        for (const it of items) {
          const light = (it.health.lights || []).find((l) => l.key === key && l.level === level);
          if (light) cell.appendChild(lightView(light, {dim: it.health.embed_dim, runName: it.run, runColor: it.color, showRun: multi}));
          else cell.appendChild(h('div', {class: [C.light, 'hj-light-absent', C.muted]}, multi ? `${it.run}: ` : '', 'not logged'));
        }
        grid.appendChild(cell);
      }
    }
    section.appendChild(h('div', {class: 'hj-grid-scroll'}, grid));
  }
  if (others.length) {
    others.sort((a, b) => (statusRank(b.l.status) - statusRank(a.l.status)) ||
      String(a.l.tag || a.l.key).localeCompare(String(b.l.tag || b.l.key)) || items.indexOf(a.it) - items.indexOf(b.it));
    const body = h('tbody');
    for (const {it, l} of others) {
      body.appendChild(h('tr', {dataset: {status: l.status || 'unknown', key: l.key || ''}},
        multi ? h('td', {class: 'hj-nowrap'}, runSwatch(it.color), ' ', it.run) : null,
        h('td', {}, statusBadge(l.status, {compact: true})),
        h('td', {}, h('span', {class: C.mono}, l.tag || l.key || '')),
        h('td', {class: 'hj-num'}, formatValue(l.value),
          l.window && l.window.statistic && l.window.statistic !== 'recent' ? h('div', {class: [C.small, C.muted]}, l.window.statistic) : null),
        h('td', {}, ...thresholdLine(l, it.health.embed_dim)),
        h('td', {class: C.small}, l.explanation || '')));
    }
    section.appendChild(h('h3', {class: 'hj-subtitle'}, 'Other checks'));
    section.appendChild(h('div', {class: C.card}, h('table', {class: [C.table, 'hj-table-compact']},
      h('thead', {}, h('tr', {}, multi ? h('th', {}, 'Run') : null, h('th', {}, 'Status'), h('th', {}, 'Metric'),
        h('th', {class: 'hj-num'}, 'Value'), h('th', {}, 'Threshold'), h('th', {}, 'Explanation'))), body)));
  }
  return section;
}

// ---------------------------------------------------------------- hierarchy

function derivedMeaning(catalog, key) {
  const d = catalog && Array.isArray(catalog.derived) ? catalog.derived.find((x) => x.key === key) : null;
  return d ? d.meaning : keyLabel(key);
}

/** Hierarchy contribution stack, one card per run. */
export function hierarchyView(items, catalog, ctx) {
  const section = h('section', {class: C.section, 'aria-label': 'hierarchy contribution'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Hierarchy contribution'));
  section.appendChild(h('p', {class: [C.muted, C.small]},
    'Share of level i = w_i·L_i / Σ_j w_j·L_j (shares sum to 100%). Dashed lines: the shares the configured hierarchy weights would give with equal level losses.'));
  const row = h('div', {class: [C.stack, items.length > 1 && 'hj-stack-multi']});
  for (const it of items) {
    const c = it.health.contributions;
    const card = h('div', {class: [C.card, 'hj-hier-card'], dataset: {run: it.run}});
    const status = c && c.status ? c.status : 'unknown';
    card.appendChild(h('div', {class: C.cardTitle}, runSwatch(it.color), h('span', {class: 'hj-card-run'}, it.run),
      h('span', {class: C.barSpacer}), h('span', {class: C.muted}, 'imbalance: '), statusBadge(status)));
    if (c && c.note) card.appendChild(h('p', {class: [C.small, C.muted, 'hj-contrib-note']}, c.note));
    if (!c || !Array.isArray(c.shares) || !c.shares.length) {
      if (!c || !c.note) card.appendChild(h('p', {class: C.muted}, 'No per-level losses: the hierarchy contribution is unknown.'));
      row.appendChild(card);
      continue;
    }
    const levels = c.levels || c.shares.map((_, i) => i);
    const chartBox = h('div', {class: 'hj-chart-box'});
    card.appendChild(chartBox);
    const last = (arr) => (Array.isArray(arr) && arr.length ? num(arr[arr.length - 1]) : null);
    const legend = h('table', {class: [C.table, 'hj-table-compact', 'hj-share-table']},
      h('thead', {}, h('tr', {}, h('th', {}, 'Level'), h('th', {class: 'hj-num'}, 'Weight'),
        h('th', {class: 'hj-num'}, 'Expected share'), h('th', {class: 'hj-num'}, 'Latest share'))),
      h('tbody', {}, levels.map((lv, i) => h('tr', {},
        h('td', {}, runSwatch(LEVEL_COLORS[i % LEVEL_COLORS.length]), ` level ${lv}`),
        h('td', {class: 'hj-num'}, c.weights ? formatValue(c.weights[i]) : '—'),
        h('td', {class: 'hj-num'}, c.expected ? formatPercent(c.expected[i], 1) : '—'),
        h('td', {class: 'hj-num'}, formatPercent(last(c.shares[i]), 1))))));
    card.appendChild(legend);
    if (!c.expected && !c.note) card.appendChild(h('p', {class: [C.small, C.muted]}, 'Hierarchy weights unknown (no run manifest): no expected shares.'));
    if (c.weights_source) card.appendChild(h('p', {class: [C.small, C.muted]}, `Weights from ${c.weights_source}.`));
    const checks = Array.isArray(c.checks) ? c.checks : [];
    if (checks.length) {
      const list = h('ul', {class: C.checks});
      for (const l of checks) {
        list.appendChild(h('li', {class: C.check, dataset: {status: l.status || 'unknown', key: l.key || ''}},
          statusBadge(l.status, {compact: true}), ' ',
          h('span', {}, derivedMeaning(catalog, l.key)), ' ',
          h('span', {class: C.mono}, formatValue(l.value)),
          l.threshold ? h('span', {class: C.muted}, ` (${l.threshold.status} if ${comparisonText(l.threshold.op, l.threshold.bound)})`) : null,
          l.explanation ? h('div', {class: [C.small, C.muted]}, l.explanation) : null));
      }
      card.appendChild(list);
    }
    row.appendChild(card);
    ctx.afterMount(() => ctx.track(createStackChart(chartBox, {levels, steps: c.steps, shares: c.shares, expected: c.expected,
      colors: LEVEL_COLORS, label: `level shares of ${it.run}`})));
  }
  section.appendChild(row);
  return section;
}

// ---------------------------------------------------------------- diagnosis

function checkItem(chk, dim) {
  const fired = chk.fired;
  const cls = fired === true ? C.checkFired : fired === false ? C.checkQuiet : C.checkUnknown;
  const mark = fired === true ? 'fired' : fired === false ? 'ok' : 'no data';
  const iconStatus = fired === true ? 'collapse' : fired === false ? 'healthy' : 'unknown';
  return h('li', {class: [C.check, cls], dataset: {check: chk.id || '', fired: String(fired)}},
    statusBadge(iconStatus, {label: mark, compact: true}), ' ',
    h('span', {class: 'hj-check-text'}, chk.text || chk.id || ''),
    h('div', {class: [C.small, C.muted]},
      chk.detail ? chk.detail : `${chk.metric || ''}${chk.level !== null && chk.level !== undefined ? ` (level ${chk.level})` : ''}: ${formatValue(chk.value)} ${comparisonText(chk.op, chk.bound, dim)}`,
      chk.statistic ? ` · ${chk.statistic}` : '',
      chk.normalise && chk.normalise !== 'none' ? ` · ${normaliseText(chk.normalise)}` : ''));
}

function checkList(title, checks, dim) {
  if (!Array.isArray(checks) || !checks.length) return null;
  return h('div', {class: 'hj-check-group'}, h('div', {class: 'hj-check-title'}, title),
    h('ul', {class: C.checks}, checks.map((c) => checkItem(c, dim))));
}

/** The §11 flowchart as a tree; firing branches highlighted and open. */
function flowchartView(health) {
  const dim = health.embed_dim;
  const branches = Array.isArray(health.flowchart) ? health.flowchart : [];
  const firedCount = branches.filter((b) => b.fired).length;
  const tree = h('ul', {class: C.flow, role: 'tree', 'aria-label': 'diagnostic flowchart'});
  for (const b of branches) {
    const state = b.applicable === false ? 'na' : b.fired ? 'fired' : 'quiet';
    const pill = state === 'fired' ? statusBadge('critical', {label: 'fires'})
      : state === 'na' ? statusBadge('unknown', {label: 'not applicable'}) : statusBadge('healthy', {label: 'does not fire'});
    const body = h('div', {class: 'hj-flow-body'},
      checkList('Triggered by', b.triggers, dim),
      checkList('Checks', b.checks, dim),
      Array.isArray(b.actions) && b.actions.length ? h('div', {class: 'hj-check-group'},
        h('div', {class: 'hj-check-title'}, b.fired ? 'Actions' : 'Actions (if it fires)'),
        h('ul', {class: C.actions}, b.actions.map((a) => h('li', {}, a)))) : null,
      b.correction ? h('p', {class: [C.small, C.muted]}, `Project rule: ${b.correction.rule || ''} — ${b.correction.why || ''}`) : null);
    const details = h('details', {class: 'hj-flow-details'}, h('summary', {class: C.flowHead},
      pill, h('span', {class: 'hj-flow-question'}, b.question || b.id)), body);
    if (state === 'fired') details.open = true;
    tree.appendChild(h('li', {class: [C.flowBranch, state === 'fired' ? C.flowFired : state === 'na' ? C.flowNA : C.flowQuiet],
      role: 'treeitem', dataset: {branch: b.id || '', fired: String(!!b.fired)}}, details));
  }
  return h('div', {class: C.card},
    h('div', {class: C.cardTitle}, h('span', {}, 'Diagnostic flowchart'), h('span', {class: C.barSpacer}),
      h('span', {class: C.muted}, firedCount ? `${firedCount} branch${firedCount > 1 ? 'es' : ''} firing` : 'no branch fires')),
    h('div', {class: 'hj-flow-root'}, 'Training issue detected?'),
    tree);
}

function patternsView(health) {
  const dim = health.embed_dim;
  const patterns = (Array.isArray(health.patterns) ? health.patterns : []).slice()
    .sort((a, b) => Number(!!b.detected) - Number(!!a.detected));
  const list = h('div', {class: 'hj-patterns'});
  for (const p of patterns) {
    const det = h('details', {class: [C.pattern, p.detected && C.patternDetected], dataset: {pattern: p.id || '', detected: String(!!p.detected)}},
      h('summary', {}, p.detected ? statusBadge('warning', {label: 'detected'}) : statusBadge('healthy', {label: 'not seen'}),
        h('span', {class: 'hj-pattern-name'}, p.name || p.id)),
      h('dl', {class: C.kv}, h('dt', {}, 'Likely cause'), h('dd', {}, p.likely_cause || '—'),
        h('dt', {}, 'Fix'), h('dd', {}, p.fix || '—')),
      checkList('Symptoms', p.symptoms, dim),
      checkList('Evidence', p.evidence, dim));
    if (p.detected) det.open = true;
    list.appendChild(det);
  }
  const n = patterns.filter((p) => p.detected).length;
  return h('div', {class: C.card}, h('div', {class: C.cardTitle}, h('span', {}, 'Common patterns'), h('span', {class: C.barSpacer}),
    h('span', {class: C.muted}, n ? `${n} detected` : 'none detected')), list);
}

function rangesView(health) {
  const r = health.ranges;
  const card = h('div', {class: C.card}, h('div', {class: C.cardTitle}, h('span', {}, 'Expected ranges by training progress')));
  if (!r || !Array.isArray(r.checks)) {
    card.appendChild(h('p', {class: C.muted}, 'No range checks.'));
    return card;
  }
  card.appendChild(h('p', {class: [C.small, C.muted]},
    `Progress ${formatPercent(r.progress)}; compared with the reference's ranges at ${formatPercent(r.checkpoint)} of training.`,
    r.note ? ` ${r.note}` : ''));
  const body = h('tbody');
  for (const c of r.checks) {
    const res = c.comparable === false ? statusBadge('unknown', {label: 'not comparable'})
      : c.in_range === true ? statusBadge('healthy', {label: 'in range'})
        : c.in_range === false ? statusBadge('warning', {label: 'out of range'}) : statusBadge('unknown', {label: 'no data'});
    body.appendChild(h('tr', {dataset: {key: c.key || '', inRange: String(c.in_range)}},
      h('td', {}, tagText(c.tag || c.key || '')),
      h('td', {class: 'hj-num'}, c.level === null || c.level === undefined ? '—' : String(c.level)),
      h('td', {class: 'hj-num'}, `${formatValue(c.low)} – ${formatValue(c.high)}`),
      h('td', {class: 'hj-num'}, formatValue(c.value)),
      h('td', {}, res, c.note ? h('div', {class: [C.small, C.muted]}, c.note) : null)));
  }
  card.appendChild(h('table', {class: [C.table, 'hj-table-compact', 'hj-ranges']},
    h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', {class: 'hj-num'}, 'Level'), h('th', {class: 'hj-num'}, 'Expected'),
      h('th', {class: 'hj-num'}, 'Value'), h('th', {}, 'Result'))), body));
  return card;
}

/** Diagnosis of each selected run: flowchart, patterns, ranges. */
export function diagnosisView(items) {
  const section = h('section', {class: C.section, 'aria-label': 'diagnosis'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Diagnosis'));
  for (const it of items) {
    const wrap = h('div', {class: 'hj-diag-run', dataset: {run: it.run}});
    if (items.length > 1) wrap.appendChild(h('h3', {class: 'hj-subtitle'}, runSwatch(it.color), ' ', it.run, ' ', statusBadge(it.health.status)));
    wrap.appendChild(h('div', {class: 'hj-diag-grid'}, flowchartView(it.health),
      h('div', {class: 'hj-diag-side'}, patternsView(it.health))));
    wrap.appendChild(rangesView(it.health));
    section.appendChild(wrap);
  }
  return section;
}

// ---------------------------------------------------------------- charts

/** Data-unit threshold bands of a catalogue rule, or {bands: [], note}. */
export function bandsForTag(metric, lights, dim) {
  const rule = metric && metric.rule;
  if (!rule || !Array.isArray(rule.bands) || !rule.bands.length) return {bands: [], note: ''};
  if (rule.statistic && !['recent', 'recent_max', 'first', 'at_start'].includes(rule.statistic)) {
    return {bands: [], note: `verdict on the ${rule.statistic} statistic (no band on the curve)`};
  }
  let factor = 1;
  let note = '';
  if (rule.normalise && rule.normalise !== 'none') {
    const ratios = lights.map((l) => num(l.value) / num(l.judged_value)).filter((x) => Number.isFinite(x) && x > 0);
    const same = ratios.length && ratios.every((x) => Math.abs(x / ratios[0] - 1) < 1e-3);
    if (!same) return {bands: [], note: `bands are dimension-relative (${normaliseText(rule.normalise)}); not drawn here`};
    factor = ratios[0];
    note = `bands drawn in raw units (${normaliseText(rule.normalise, dim)})`;
  }
  const out = [];
  for (const b of rule.bands) {
    const bound = b.bound;
    let lo = -Infinity;
    let hi = Infinity;
    if (b.op === '<' || b.op === '<=') hi = resolveBound(bound, dim) * factor;
    else if (b.op === '>' || b.op === '>=') lo = resolveBound(bound, dim) * factor;
    else if (b.op === 'inside' && Array.isArray(bound)) {
      lo = num(bound[0]) * factor;
      hi = num(bound[1]) * factor;
    } else if (b.op === 'outside' && Array.isArray(bound)) {
      out.push({status: b.status, lo: -Infinity, hi: num(bound[0]) * factor});
      out.push({status: b.status, lo: num(bound[1]) * factor, hi: Infinity});
      continue;
    } else continue;
    out.push({status: b.status, lo, hi});
  }
  return {bands: subtractEarlier(out), note, factor};
}

/** Bands are tried in order: a later band only covers what earlier ones leave. */
export function subtractEarlier(bands) {
  const result = [];
  const taken = [];
  for (const b of bands) {
    let pieces = [[b.lo, b.hi]];
    for (const [tl, th] of taken) {
      const next = [];
      for (const [l, hgh] of pieces) {
        if (th <= l || tl >= hgh) next.push([l, hgh]);
        else {
          if (tl > l) next.push([l, tl]);
          if (th < hgh) next.push([th, hgh]);
        }
      }
      pieces = next;
    }
    for (const [l, hgh] of pieces) if (hgh > l) result.push({status: b.status, lo: l, hi: hgh});
    taken.push([b.lo, b.hi]);
  }
  return result;
}

/** Category tabs (buttons, arrow keys move between them). */
export function categoryTabs(categories, active, onPick) {
  const bar = h('div', {class: C.tabs, role: 'tablist', 'aria-label': 'metric categories'});
  for (const {category, count} of categories) {
    const btn = h('button', {class: [C.tab, category === active && C.tabActive], type: 'button', role: 'tab',
      'aria-selected': String(category === active), dataset: {category},
      on: {click: () => onPick(category), keydown: (ev) => {
        const tabs = Array.from(bar.querySelectorAll('button'));
        const i = tabs.indexOf(ev.currentTarget);
        if (ev.key === 'ArrowRight' && tabs[i + 1]) tabs[i + 1].focus();
        if (ev.key === 'ArrowLeft' && tabs[i - 1]) tabs[i - 1].focus();
      }}}, categoryLabel(category), h('span', {class: 'hj-tab-count'}, String(count)));
    bar.appendChild(btn);
  }
  return bar;
}

function downloadCsv(tag, rowsByRun) {
  const rows = [];
  for (const {run, data} of rowsByRun) for (const r of data) rows.push([run, tag, num(r[0]), num(r[1]), num(r[2])]);
  const blob = new Blob([toCsv(['run', 'tag', 'step', 'wall_time', 'value'], rows)], {type: 'text/csv'});
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: `${safeFileName(tag)}.csv`});
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * One chart card: a concrete tag, overlaid for every run that has it.
 * @param {Object} p
 * @param {string} p.tag
 * @param {object|null} p.metric catalogue record
 * @param {Array<{run, color, data, error, light, dim}>} p.series
 * @param {number} p.smoothing
 * @param {boolean|undefined} p.logOverride
 * @param {(tag: string, on: boolean) => void} p.onLog
 */
export function chartCard({tag, metric, series, smoothing, logOverride, onLog}, ctx) {
  const ok = series.filter((s) => Array.isArray(s.data));
  const values = [];
  for (const s of ok) for (const r of s.data) values.push(num(r[2]));
  const autoLog = !!(metric && metric.log_scale) || spansDecades(values, 2);
  const log = logOverride === undefined ? autoLog : logOverride;
  const dims = Array.from(new Set(ok.map((s) => s.dim).filter(Boolean)));
  const {bands, note, factor} = bandsForTag(metric, ok.map((s) => s.light).filter(Boolean), dims.length === 1 ? dims[0] : null);
  const logBox = h('input', {type: 'checkbox', on: {change: (ev) => onLog(tag, ev.target.checked)}});
  logBox.checked = log;
  const csv = h('button', {class: [C.button, 'hj-button-small'], type: 'button', title: `download ${tag} as CSV`,
    dataset: {action: 'csv'}, on: {click: () => downloadCsv(tag, ok.map((s) => ({run: s.run, data: s.data})))}}, 'CSV');
  const box = h('div', {class: 'hj-chart-box'});
  const lightBadges = series.filter((s) => s.light).map((s) => statusBadge(s.light.status, {compact: true}));
  const card = h('div', {class: C.chartCard, dataset: {tag}},
    h('div', {class: C.chartHead},
      h('div', {class: 'hj-chart-title'}, h('span', {class: C.mono}, tag), series.length === 1 ? lightBadges : null),
      h('div', {class: C.chartTools},
        h('label', {class: 'hj-check-label'}, logBox, ' log'),
        csv)),
    metric ? h('div', {class: [C.small, C.muted, 'hj-chart-meaning']}, metric.meaning || '', metric.unit ? ` [${metric.unit}]` : '') : null,
    box,
    h('div', {class: C.legend}, series.map((s) => {
      const bad = Array.isArray(s.data) ? s.data.filter((r) => !Number.isFinite(num(r[2]))).length : 0;
      return h('span', {class: C.legendItem, dataset: {run: s.run}}, runSwatch(s.color), h('span', {}, s.run),
        series.length > 1 && s.light ? statusBadge(s.light.status, {compact: true}) : null,
        bad ? h('span', {class: 'hj-legend-error', title: 'marked ▼ on the top edge'}, ` — ${bad} NaN/Inf ▼`) : null,
        s.error ? h('span', {class: 'hj-legend-error'}, ` — ${s.error}`) : null);
    })),
    ...Array.from(new Set(series.flatMap((s) => s.notes || []))).map((n) => h('div', {class: [C.small, C.muted, 'hj-chart-note']}, n)),
    bands.length || note ? h('div', {class: [C.small, C.muted, 'hj-band-note']},
      bands.length ? h('span', {}, 'bands: ', ...((metric.rule && metric.rule.bands) || []).map((b) =>
        h('span', {class: 'hj-band-key'}, statusBadge(b.status, {compact: true}), ' ', comparisonText(b.op, b.bound, dims.length === 1 ? dims[0] : null),
          factor !== 1 && !Array.isArray(b.bound) ? ` (raw ${formatValue(resolveBound(b.bound, dims.length === 1 ? dims[0] : null) * factor, 3)})` : '', ' '))) : null,
      note ? h('span', {}, note) : null) : null);
  ctx.afterMount(() => ctx.track(createLineChart(box, {
    series: ok.map((s) => ({name: s.run, color: s.color, points: s.data.map((r) => [r[0], r[2]])})),
    smoothing, log, bands, label: `${tag} chart`,
  })));
  return card;
}

