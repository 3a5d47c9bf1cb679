// Line chart of one quantity for one or more runs: threshold bands, smoothing (the raw
// curve drawn faintly behind), log scale, NaN/Inf markers, hover and keyboard reading.
//
// Speed: each curve arrives as columns (series.js) and is never copied again. What a
// redraw needs is cached with the curve (series.memoOf, so it outlives a chart rebuilt
// by a run toggle): the y extents (linear and log), the smoothed values (recomputed in
// place when the smoothing changes), the pixel column of every point (per x scale) and
// the paths of the raw and the smoothed line (per x and y scale and smoothing: a
// smoothing change redraws only the smoothed lines); the chart keeps the union of steps
// the cursor stops at. Lines are thinned to
// min/max per pixel column (series.thin), so a 100,000-point curve draws as fast as a
// 1,000-point one and keeps its spikes.

import {includeNearEdges} from '../lib/bands.js';
import {C} from '../lib/classes.js';
import {formatStep, formatValue, logTicks, niceTicks} from '../lib/format.js';
import {statusColor} from '../lib/palette.js';
import {
  groupByColumn,
  memoOf,
  nearestIndex,
  PEN_UP,
  pixelColumns,
  smoothedOf,
  thin,
  unionSorted,
} from '../lib/series.js';
import {svg} from '../page/dom.js';
import {createFrame, drawNoData, drawXAxis, drawYAxis, MARGIN} from './chart_frame.js';

const isFiniteValue = (v) => Number.isFinite(v);
const isPositive = (v) => Number.isFinite(v) && v > 0;

/**
 * @typedef {Object} LineSeries
 * @property {string} name
 * @property {string} color
 * @property {import('../lib/series.js').Columns} columns
 */

/** SVG path text through the thinned points of ys (x at each point's pixel column). */
function pathText(ys, cols, sy, positive) {
  const idx = thin(ys, cols, positive);
  const parts = new Array(idx.length);
  let pen = false;
  let k = 0;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (i === PEN_UP) {
      pen = false;
      continue;
    }
    parts[k++] = `${pen ? 'L' : 'M'}${cols[i]} ${sy(ys[i]).toFixed(1)}`;
    pen = true;
  }
  parts.length = k;
  return parts.join('');
}

/**
 * @param {HTMLElement} container
 * @param {Object} options
 * @param {LineSeries[]} options.series
 * @param {number} [options.smoothing] 0..0.99
 * @param {boolean} [options.log] log y axis (non-positive values are left out)
 * @param {import('../lib/bands.js').Band[]} [options.bands] data-unit ranges
 * @param {Array<{name: string, color: string, step: number, status: string}>} [options.marks]
 *   steps at which a run's light left healthy: a dashed vertical line each
 * @param {number} [options.height]
 * @param {number} [options.width] the container's width when already measured
 * @param {string} [options.label] accessible name
 * @returns {{kind: string, el: HTMLElement, update: (next: Object) => void, destroy: () => void}}
 */
export function createLineChart(container, options) {
  let opts = Object.assign(
    {series: [], smoothing: 0, log: false, bands: [], marks: [], height: 210, label: ''},
    options,
  );
  /** @type {Array<{name: string, color: string, c: object, sm: Float64Array, lin: object, pos: object}>} */
  let curves = [];
  let steps = new Float64Array(0);
  /** @type {import('./chart_frame.js').HoverRow[]} */
  let rows = [];
  let geom = null;

  function prepare() {
    curves = opts.series.map((s) => {
      const memo = memoOf(s.columns);
      return {
        name: s.name,
        color: s.color,
        c: s.columns,
        sm: memo.smoothed,
        lin: memo.lin,
        pos: memo.pos,
        d: memo.draw,
      };
    });
    steps = unionSorted(curves.map((k) => k.c.x));
    rows = curves.map((k) => ({name: k.name, color: k.color, text: '', step: 0, y: null}));
    resmooth();
  }

  function resmooth() {
    for (const k of curves) k.sm = smoothedOf(k.c, opts.smoothing);
  }

  function draw(layer, width, height) {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const k of curves) {
      const e = opts.log ? k.pos : k.lin;
      // Smoothed values are weighted means of finite raw values: inside the raw extent.
      if (k.c.x.length) {
        x0 = Math.min(x0, k.c.x[0]);
        x1 = Math.max(x1, k.c.x[k.c.x.length - 1]);
      }
      y0 = Math.min(y0, e.y0);
      y1 = Math.max(y1, e.y1);
    }
    if (!Number.isFinite(x0)) {
      drawNoData(layer, width, height, 'no points');
      geom = null;
      return null;
    }
    if (!Number.isFinite(y0)) {
      drawNoData(
        layer,
        width,
        height,
        opts.log ? 'no positive values to draw on a log scale' : 'no finite values',
      );
      geom = null;
      return null;
    }
    if (x0 === x1) {
      x0 -= 1;
      x1 += 1;
    }
    [y0, y1] = includeNearEdges(y0, y1, opts.bands, opts.log);
    let toY;
    let ticks;
    if (opts.log) {
      if (y0 === y1) {
        y0 /= 2;
        y1 *= 2;
      }
      const l0 = Math.log10(y0) - 0.05 * (Math.log10(y1) - Math.log10(y0));
      const l1 = Math.log10(y1) + 0.05 * (Math.log10(y1) - Math.log10(y0));
      y0 = 10 ** l0;
      y1 = 10 ** l1;
      toY = (v) => (Math.log10(v) - l0) / (l1 - l0);
      ticks = logTicks(y0, y1);
      if (ticks.length < 2) ticks = niceTicks(y0, y1, 4).filter((t) => t > 0);
    } else {
      if (y0 === y1) {
        const d = Math.abs(y0) * 0.1 || 1;
        y0 -= d;
        y1 += d;
      }
      const pad = (y1 - y0) * 0.06;
      y0 -= pad;
      y1 += pad;
      toY = (v) => (v - y0) / (y1 - y0);
      ticks = niceTicks(y0, y1, 4);
    }
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const plotW = width - MARGIN.left - MARGIN.right;
    const sx = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
    const sxInv = (px) => x0 + ((px - MARGIN.left) / plotW) * (x1 - x0);
    const syRaw = (v) => MARGIN.top + (1 - toY(v)) * plotH;
    const sy = (v) => Math.max(MARGIN.top - 2, Math.min(height - MARGIN.bottom + 2, syRaw(v)));

    drawBands(layer, opts.bands || [], {y0, y1, log: opts.log, syRaw, width, plotW});
    drawYAxis(layer, ticks, syRaw, width, (t) => formatValue(t, 3));
    drawXAxis(
      layer,
      x0,
      x1,
      sx,
      height,
      niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t) || x1 - x0 < 5),
    );

    const lines = svg('g', {class: C.lines});
    const colsKey = `${x0}|${x1}|${plotW}`;
    const rawKey = `${colsKey}|${y0}|${y1}|${plotH}|${opts.log}`;
    for (const k of curves) {
      const d = k.d;
      if (d.colsKey !== colsKey) {
        d.cols = pixelColumns(k.c.x, x0, x1, MARGIN.left, plotW);
        d.marks = groupByColumn(k.c.nonFinite, d.cols);
        d.colsKey = colsKey;
        d.rawKey = '';
      }
      if (d.rawKey !== rawKey) {
        d.raw = pathText(k.c.y, d.cols, sy, opts.log);
        d.rawKey = rawKey;
      }
      if (opts.smoothing > 0) {
        lines.appendChild(svg('path', {d: d.raw, stroke: k.color, class: C.lineRaw}));
        const smKey = `${rawKey}|${opts.smoothing}`;
        if (d.smKey !== smKey) {
          d.smooth = pathText(k.sm, d.cols, sy, opts.log);
          d.smKey = smKey;
        }
        lines.appendChild(svg('path', {d: d.smooth, stroke: k.color, class: C.line}));
      } else {
        lines.appendChild(svg('path', {d: d.raw, stroke: k.color, class: C.line}));
      }
      // Non-finite values (NaN, ±Inf) are marked on the top edge, one mark per pixel
      // column, never silently dropped.
      for (const g of d.marks) {
        const px = d.cols[g.first];
        const mark = svg('path', {
          d: `M${px - 4} ${MARGIN.top}L${px + 4} ${MARGIN.top}L${px} ${MARGIN.top + 7}Z`,
          class: C.nonFinite,
        });
        const title = svg('title');
        title.textContent =
          g.count === 1
            ? `${k.name}: ${formatValue(k.c.y[g.first])} at step ${formatStep(k.c.x[g.first])}`
            : `${k.name}: ${g.count} NaN/Inf values, steps ${formatStep(k.c.x[g.first])}–${formatStep(k.c.x[g.last])}`;
        mark.appendChild(title);
        lines.appendChild(mark);
      }
    }
    layer.appendChild(lines);
    drawMarks(layer, opts.marks || [], {x0, x1, sx, height});
    geom = {sx, sxInv, sy, rows};
    return geom;
  }

  function describe(step, out) {
    const smoothed = opts.smoothing > 0;
    const okY = opts.log ? isPositive : isFiniteValue;
    for (let i = 0; i < curves.length; i++) {
      const k = curves[i];
      const r = out[i];
      const j = nearestIndex(k.c.x, step);
      if (j < 0) {
        r.text = '';
        continue;
      }
      const raw = k.c.y[j];
      const sm = k.sm[j];
      r.step = k.c.x[j];
      r.text =
        smoothed && Number.isFinite(raw)
          ? `${formatValue(sm)} (${formatValue(raw)})`
          : formatValue(raw);
      r.y = okY(sm) && geom ? geom.sy(sm) : null;
    }
  }

  prepare();
  const frame = createFrame(container, {
    height: opts.height,
    width: opts.width,
    label: opts.label,
    draw,
    steps: () => steps,
    describe,
  });
  frame.render();

  return {
    kind: 'line',
    el: frame.wrap,
    /** Redraw with new options; only what they change is recomputed. */
    update(next) {
      const before = opts;
      opts = Object.assign({}, opts, next);
      if (next.series && next.series !== before.series) prepare();
      else if (opts.smoothing !== before.smoothing) resmooth();
      frame.render();
    },
    destroy() {
      frame.destroy();
      curves = [];
      rows = [];
    },
  };
}

function drawBands(layer, bands, {y0, y1, log, syRaw, width, plotW}) {
  const g = svg('g', {class: C.bands});
  for (const b of bands) {
    let lo = b.lo;
    let hi = b.hi;
    if (log && hi <= 0) continue;
    lo = Math.max(lo, y0);
    hi = Math.min(hi, y1);
    if (!(hi > lo)) continue;
    const top = syRaw(hi);
    const bottom = syRaw(lo);
    const color = statusColor(b.status);
    g.appendChild(
      svg('rect', {
        x: MARGIN.left,
        width: plotW,
        y: top,
        height: Math.max(0, bottom - top),
        fill: color,
        class: C.band,
        'data-band-status': b.status,
      }),
    );
    for (const edge of [b.lo, b.hi]) {
      if (Number.isFinite(edge) && edge > y0 && edge < y1) {
        const y = syRaw(edge);
        g.appendChild(
          svg('line', {
            x1: MARGIN.left,
            x2: width - MARGIN.right,
            y1: y,
            y2: y,
            stroke: color,
            class: C.bandEdge,
          }),
        );
      }
    }
  }
  layer.appendChild(g);
}

/** A dashed vertical line, in the run's colour, at each step where its light left healthy. */
function drawMarks(layer, marks, {x0, x1, sx, height}) {
  const g = svg('g', {});
  for (const m of marks) {
    if (!(m.step >= x0 && m.step <= x1)) continue;
    const x = sx(m.step);
    const line = svg('line', {
      x1: x,
      x2: x,
      y1: MARGIN.top,
      y2: height - MARGIN.bottom,
      stroke: m.color,
      class: C.leftHealthy,
      'data-step': m.step,
      'data-status': m.status,
    });
    const title = svg('title');
    title.textContent = `${m.name}: left healthy (${m.status}) at step ${formatStep(m.step)}`;
    line.appendChild(title);
    g.appendChild(line);
  }
  layer.appendChild(g);
}
