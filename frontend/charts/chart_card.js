// One chart card of the "Charts" view: a concrete tag, overlaid for every run that has
// it, with its catalogue meaning, legend (NaN/Inf counts, read errors, the step at which
// the run's light left healthy, drawn as a dashed line), threshold bands,
// a log-scale toggle and a CSV export of every point (full resolution, not the thinned
// drawing).

import {bandsForTag} from '../lib/bands.js';
import {C} from '../lib/classes.js';
import {comparisonText, formatStep, formatValue, safeFileName, toCsv} from '../lib/format.js';
import {spansDecadesAll} from '../lib/series.js';
import {h, runSwatch, statusBadge} from '../page/dom.js';
import {createLineChart} from './line_chart.js';

/**
 * @typedef {Object} CardSeries
 * @property {string} run
 * @property {string} color
 * @property {import('../lib/series.js').Columns|null} columns null when the curve could not be read
 * @property {string|null} error
 * @property {object|null} light this tag's light of the run
 * @property {number|null} dim the run's embedding dimension
 * @property {string[]} notes sampling and alias notes
 * @property {{step: number, status: string}|null} [left] the first step at which the
 *   run's light of this curve left healthy (the health timeline), marked on the chart
 */

/** CSV of every point of the card's curves, from memory (a Blob URL). */
export function downloadCsv(tag, series) {
  const rows = [];
  for (const s of series) {
    const c = s.columns;
    for (let i = 0; i < c.x.length; i++)
      rows.push([s.run, tag, c.x[i], Number.isNaN(c.wall[i]) ? null : c.wall[i], c.y[i]]);
  }
  const blob = new Blob([toCsv(['run', 'tag', 'step', 'wall_time', 'value'], rows)], {
    type: 'text/csv',
  });
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: `${safeFileName(tag)}.csv`});
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * @param {Object} p
 * @param {string} p.tag
 * @param {object|null} p.metric catalogue record
 * @param {CardSeries[]} p.series
 * @param {number} p.smoothing
 * @param {boolean|undefined} p.logOverride the user's choice for this tag, if any
 * @param {(tag: string, on: boolean) => void} p.onLog remembers the user's choice
 * @param {import('../views/views.js').ViewEnv} env
 * @returns {{el: HTMLElement, chart: () => (object|null)}}
 */
export function chartCard({tag, metric, series, smoothing, logOverride, onLog}, env) {
  const ok = series.filter((s) => s.columns);
  const autoLog =
    !!metric?.log_scale ||
    spansDecadesAll(
      ok.map((s) => s.columns),
      2,
    );
  const log = logOverride === undefined ? autoLog : logOverride;
  const dims = Array.from(new Set(ok.map((s) => s.dim).filter(Boolean)));
  const dim = dims.length === 1 ? dims[0] : null;
  const {bands, legend, note, factor} = bandsForTag(
    metric,
    ok.map((s) => s.light).filter(Boolean),
    dim,
  );
  let chart = null;
  const logBox = h('input', {
    type: 'checkbox',
    on: {
      change: (ev) => {
        if (chart) chart.update({log: ev.target.checked});
        onLog(tag, ev.target.checked);
      },
    },
  });
  logBox.checked = log;
  const csv = h(
    'button',
    {
      class: [C.button, C.buttonSmall],
      type: 'button',
      title: `download ${tag} as CSV`,
      dataset: {action: 'csv'},
      on: {click: () => downloadCsv(tag, ok)},
    },
    'CSV',
  );
  const box = h('div', {class: C.chartBox});
  const lightBadges = series
    .filter((s) => s.light)
    .map((s) => statusBadge(s.light.status, {compact: true}));
  const el = h(
    'div',
    {class: C.chartCard, dataset: {tag}},
    h(
      'div',
      {class: C.chartHead},
      h(
        'div',
        {class: C.chartTitle},
        h('span', {class: C.mono}, tag),
        series.length === 1 ? lightBadges : null,
      ),
      h('div', {class: C.chartTools}, h('label', {class: C.checkLabel}, logBox, ' log'), csv),
    ),
    metric
      ? h(
          'div',
          {class: [C.small, C.muted, C.chartMeaning]},
          metric.meaning || '',
          metric.unit ? ` [${metric.unit}]` : '',
        )
      : null,
    box,
    h(
      'div',
      {class: C.legend},
      series.map((s) => {
        const bad = s.columns ? s.columns.nonFinite.length : 0;
        return h(
          'span',
          {class: C.legendItem, dataset: {run: s.run}},
          runSwatch(s.color),
          h('span', {}, s.run),
          series.length > 1 && s.light ? statusBadge(s.light.status, {compact: true}) : null,
          s.left
            ? h(
                'span',
                {class: C.leftHealthyNote, dataset: {step: s.left.step, status: s.left.status}},
                ` — left healthy at step ${formatStep(s.left.step)} (${s.left.status}, dashed line)`,
              )
            : null,
          bad
            ? h(
                'span',
                {class: C.legendError, title: 'marked ▼ on the top edge'},
                ` — ${bad} NaN/Inf ▼`,
              )
            : null,
          s.error ? h('span', {class: C.legendError}, ` — ${s.error}`) : null,
        );
      }),
    ),
    ...Array.from(new Set(series.flatMap((s) => s.notes || []))).map((n) =>
      h('div', {class: [C.small, C.muted, C.chartNote]}, n),
    ),
    bands.length || note
      ? h(
          'div',
          {class: [C.small, C.muted, C.bandNote]},
          bands.length
            ? h(
                'span',
                {},
                'bands: ',
                ...legend.map((b) =>
                  h(
                    'span',
                    {class: C.bandKey, dataset: {status: b.status}},
                    statusBadge(b.status, {compact: true}),
                    ' ',
                    comparisonText(b.op, b.bound),
                    factor !== 1 && !Array.isArray(b.raw) ? ` (raw ${formatValue(b.raw, 3)})` : '',
                    ' ',
                  ),
                ),
              )
            : null,
          note ? h('span', {}, note) : null,
        )
      : null,
  );
  env.afterMount(() => {
    const width = box.clientWidth; // read now, draw after every card has read
    return () => {
      chart = env.track(
        createLineChart(box, {
          series: ok.map((s) => ({name: s.run, color: s.color, columns: s.columns})),
          marks: ok
            .filter((s) => s.left)
            .map((s) => ({name: s.run, color: s.color, step: s.left.step, status: s.left.status})),
          smoothing,
          log,
          bands,
          width,
          label: `${tag} chart`,
        }),
      );
    };
  });
  return {el, chart: () => chart};
}
