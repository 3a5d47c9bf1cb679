// Columnar curves and the arithmetic a chart redraw needs. No DOM here: the node tests
// import every function.
//
// A curve is columnar, after uPlot's data format: one typed array per column, sorted
// by step, built once when the curve arrives and reused by every redraw and hover.
//   x     steps             Float64Array
//   y     values (NaN/±Inf kept: they are data, drawn as markers)
//   wall  wall times        Float64Array (for the CSV export, full resolution)

import {num} from './format.js';

/**
 * @typedef {Object} Columns
 * @property {Float64Array} x steps, ascending
 * @property {Float64Array} y values; NaN and ±Infinity kept
 * @property {Float64Array} wall wall times (NaN when unknown)
 * @property {Int32Array} nonFinite indices of NaN/±Inf values
 */

/**
 * Columns from the `scalars` route's rows `[step, wall_time, value]` (values may be the
 * strings "NaN", "Infinity", "-Infinity"). Rows without a step or a numeric value are
 * left out; rows out of step order are sorted (the route sends them sorted).
 * @param {Array<Array<*>>} rows
 * @returns {Columns}
 */
export function columnsFromRows(rows) {
  const list = Array.isArray(rows) ? rows : [];
  const n = list.length;
  let x = new Float64Array(n);
  let y = new Float64Array(n);
  let wall = new Float64Array(n);
  let k = 0;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const r = list[i];
    if (!Array.isArray(r)) continue;
    const s = num(r[0]);
    const v = num(r[2]);
    if (s === null || !Number.isFinite(s) || v === null) continue;
    const w = num(r[1]);
    if (k && s < x[k - 1]) sorted = false;
    x[k] = s;
    y[k] = v;
    wall[k] = w === null ? NaN : w;
    k++;
  }
  x = x.subarray(0, k);
  y = y.subarray(0, k);
  wall = wall.subarray(0, k);
  if (!sorted) {
    const order = Array.from({length: k}, (_, i) => i).sort((a, b) => x[a] - x[b]);
    x = Float64Array.from(order, (i) => x[i]);
    y = Float64Array.from(order, (i) => y[i]);
    wall = Float64Array.from(order, (i) => wall[i]);
  }
  const bad = [];
  for (let i = 0; i < k; i++) if (!Number.isFinite(y[i])) bad.push(i);
  return {x, y, wall, nonFinite: Int32Array.from(bad)};
}

/**
 * TensorBoard's scalar smoothing: a debiased exponential moving average. Non-finite
 * values pass through unsmoothed and do not poison the average; a constant curve stays
 * itself.
 * @param {ArrayLike<number>} values
 * @param {number} weight 0 (none) .. <1
 * @param {Float64Array} [out] written in place when given (same length as values)
 * @returns {Float64Array|number[]} `out`, or a new array of the input's kind
 */
export function smooth(values, weight, out) {
  const n = values.length;
  const dst = out || (Array.isArray(values) ? new Array(n) : new Float64Array(n));
  const w = Math.min(Math.max(Number(weight) || 0, 0), 0.999);
  let allSame = true;
  for (let i = 1; i < n && allSame; i++) allSame = values[i] === values[0];
  if (w === 0 || allSame) {
    for (let i = 0; i < n; i++) dst[i] = values[i];
    return dst;
  }
  let last = 0;
  let debias = 1;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      dst[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    debias *= w;
    dst[i] = last / (1 - debias);
  }
  return dst;
}

/**
 * Index of the element of ascending `xs` nearest to `x` (ties go to the lower index);
 * -1 when empty. Binary search: no allocation.
 * @param {ArrayLike<number>} xs
 * @param {number} x
 */
export function nearestIndex(xs, x) {
  let hi = xs.length - 1;
  if (hi < 0) return -1;
  let lo = 0;
  if (x <= xs[0]) return 0;
  if (x >= xs[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid;
    else hi = mid;
  }
  return x - xs[lo] <= xs[hi] - x ? lo : hi;
}

function sameSteps(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function merge2(a, b) {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    if (k === 0 || out[k - 1] !== v) out[k++] = v;
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
  }
  return out.subarray(0, k);
}

/**
 * The sorted union of several ascending step arrays, duplicates once. Runs logged at
 * the same steps (the usual case) cost one comparison pass; others a linear merge.
 * @param {ArrayLike<number>[]} arrays
 * @returns {ArrayLike<number>} read-only: may be one of the inputs
 */
export function unionSorted(arrays) {
  const lists = arrays.filter((a) => a?.length);
  if (!lists.length) return new Float64Array(0);
  let out = lists[0];
  for (let j = 1; j < lists.length; j++) if (!sameSteps(out, lists[j])) out = merge2(out, lists[j]);
  return out;
}

/**
 * Smallest and largest value of `ys` that passes `ok` (the y extent of a curve), and the
 * x extent of all of it.
 * @param {Columns} c
 * @param {(v: number) => boolean} ok
 * @returns {{x0: number, x1: number, y0: number, y1: number}} infinities when empty
 */
export function extent(c, ok) {
  let y0 = Infinity;
  let y1 = -Infinity;
  const ys = c.y;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (!ok(v)) continue;
    if (v < y0) y0 = v;
    if (v > y1) y1 = v;
  }
  const n = c.x.length;
  return {x0: n ? c.x[0] : Infinity, x1: n ? c.x[n - 1] : -Infinity, y0, y1};
}

/** Marks a break in the list `thin` returns: lift the pen. */
export const PEN_UP = -1;

/**
 * The pixel column of every step: round(left + (x - x0) / (x1 - x0) * width). Computed
 * once per x scale and reused by every line of the curve (raw and smoothed) and every
 * redraw that keeps the scale.
 * @param {ArrayLike<number>} xs
 * @param {number} x0 first step of the axis
 * @param {number} x1 last step of the axis (> x0)
 * @param {number} left pixel of x0
 * @param {number} width pixels from x0 to x1
 * @returns {Int32Array}
 */
export function pixelColumns(xs, x0, x1, left, width) {
  const n = xs.length;
  const out = new Int32Array(n);
  const k = width / (x1 - x0);
  for (let i = 0; i < n; i++) out[i] = Math.round(left + (xs[i] - x0) * k);
  return out;
}

/**
 * Thin a line to what a pixel column can show, as uPlot's linear paths do: per column
 * the first, the lowest, the highest and the last point, in the order they occur. A
 * 100,000-point curve on a 400-pixel chart becomes at most ~1,600 points and keeps every
 * spike. NaN and ±Inf (and, on a log axis, values <= 0) break the line: `PEN_UP` is
 * written where the pen lifts. One pass, no function call per point.
 * @param {ArrayLike<number>} ys
 * @param {Int32Array} cols pixel column of each point (pixelColumns), ascending
 * @param {boolean} [positive] only values > 0 are drawn (log axis)
 * @returns {Int32Array} indices into ys, with PEN_UP separators
 */
export function thin(ys, cols, positive = false) {
  const n = Math.min(ys.length, cols.length);
  let out = new Int32Array(Math.min(n, 4096) + 8);
  let k = 0;
  let col = 0;
  let first = -1;
  let lo = -1;
  let hi = -1;
  let last = -1;
  let loV = 0;
  let hiV = 0;
  for (let i = 0; i <= n; i++) {
    const v = i < n ? ys[i] : NaN;
    // v - v === 0 is true exactly for finite numbers.
    const ok = v - v === 0 && (!positive || v > 0);
    if (ok && first >= 0 && cols[i] === col) {
      last = i;
      if (v < loV) {
        lo = i;
        loV = v;
      } else if (v > hiV) {
        hi = i;
        hiV = v;
      }
      continue;
    }
    if (first >= 0) {
      // Flush the column: first, then the extremes in order, then last.
      if (k + 5 > out.length) {
        const bigger = new Int32Array(out.length * 2 + 8);
        bigger.set(out);
        out = bigger;
      }
      out[k++] = first;
      const a = Math.min(lo, hi);
      const b = Math.max(lo, hi);
      if (a !== first) out[k++] = a;
      if (b !== a && b !== first) out[k++] = b;
      if (last !== b && last !== first) out[k++] = last;
      first = -1;
    }
    if (i === n) break;
    if (ok) {
      col = cols[i];
      first = lo = hi = last = i;
      loV = hiV = v;
    } else if (k && out[k - 1] !== PEN_UP) {
      if (k + 1 > out.length) {
        const bigger = new Int32Array(out.length * 2 + 8);
        bigger.set(out);
        out = bigger;
      }
      out[k++] = PEN_UP;
    }
  }
  if (k && out[k - 1] === PEN_UP) k--;
  return out.slice(0, k);
}

/**
 * Non-finite points grouped by pixel column (one marker per column, not per point).
 * @param {Int32Array} nonFinite indices of NaN/±Inf values
 * @param {Int32Array} cols pixel column of each point
 * @returns {Array<{first: number, last: number, count: number}>} indices of the first
 *   and last point of each group
 */
export function groupByColumn(nonFinite, cols) {
  const groups = [];
  let col = NaN;
  for (let j = 0; j < nonFinite.length; j++) {
    const i = nonFinite[j];
    const c = cols[i];
    const g = groups[groups.length - 1];
    if (g && c === col) {
      g.last = i;
      g.count++;
    } else {
      groups.push({first: i, last: i, count: 1});
      col = c;
    }
  }
  return groups;
}

/**
 * What a chart needs of a curve and may keep between draws and between charts (a
 * curve's chart is rebuilt when runs are toggled): computed once per curve, kept on a
 * WeakMap so it goes with the columns.
 * @typedef {Object} CurveMemo
 * @property {{x0: number, x1: number, y0: number, y1: number}} lin extent of the finite values
 * @property {{x0: number, x1: number, y0: number, y1: number}} pos extent of the positive values
 * @property {Float64Array} smoothed smoothed values at `weight`
 * @property {number} weight smoothing of `smoothed` (NaN: not computed yet)
 * @property {Object<string, *>} draw per-scale caches of the chart (pixel columns, paths)
 */

const MEMO = new WeakMap();

/**
 * The memo of a curve (see CurveMemo).
 * @param {Columns} c
 * @returns {CurveMemo}
 */
export function memoOf(c) {
  let m = MEMO.get(c);
  if (!m) {
    m = {
      lin: extent(c, (v) => v - v === 0),
      pos: extent(c, (v) => v - v === 0 && v > 0),
      smoothed: new Float64Array(c.y.length),
      weight: NaN,
      draw: {},
    };
    MEMO.set(c, m);
  }
  return m;
}

/**
 * The curve's values smoothed at `weight` (recomputed in place only when it changes).
 * @param {Columns} c
 * @param {number} weight
 * @returns {Float64Array}
 */
export function smoothedOf(c, weight) {
  const m = memoOf(c);
  if (m.weight !== weight) {
    smooth(c.y, weight, m.smoothed);
    m.weight = weight;
  }
  return m.smoothed;
}

/**
 * Whether the curves together suit a log axis: every finite value positive, spanning at
 * least `decades` powers of ten.
 * @param {Columns[]} list
 * @param {number} [decades]
 */
export function spansDecadesAll(list, decades = 2) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of list) {
    const {lin, pos} = memoOf(c);
    if (lin.y0 <= 0) return false;
    if (pos.y0 < lo) lo = pos.y0;
    if (pos.y1 > hi) hi = pos.y1;
  }
  if (!(hi > 0) || !(lo > 0)) return false;
  return Math.log10(hi / lo) >= decades;
}
