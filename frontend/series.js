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
    if (xs[mid] < x) lo = mid; else hi = mid;
  }
  return x - xs[lo] <= xs[hi] - x ? lo : hi;
}

/**
 * The sorted union of several ascending step arrays (a k-way merge, duplicates once).
 * @param {ArrayLike<number>[]} arrays
 * @returns {Float64Array}
 */
export function unionSorted(arrays) {
  const lists = arrays.filter((a) => a && a.length);
  if (lists.length === 1) return Float64Array.from(lists[0]);
  let total = 0;
  for (const a of lists) total += a.length;
  const out = new Float64Array(total);
  const pos = new Array(lists.length).fill(0);
  let k = 0;
  for (;;) {
    let best = -1;
    let bestV = Infinity;
    for (let j = 0; j < lists.length; j++) {
      if (pos[j] < lists[j].length && lists[j][pos[j]] < bestV) {
        bestV = lists[j][pos[j]];
        best = j;
      }
    }
    if (best < 0) break;
    if (k === 0 || out[k - 1] !== bestV) out[k++] = bestV;
    for (let j = 0; j < lists.length; j++) {
      while (pos[j] < lists[j].length && lists[j][pos[j]] === bestV) pos[j]++;
    }
  }
  return out.slice(0, k);
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
 * Thin a curve to what a pixel column can show, as uPlot's linear paths do: per column
 * the first, the lowest, the highest and the last point, in the order they occur. A
 * 100,000-point curve on a 400-pixel chart becomes at most ~1,600 points and keeps every
 * spike. Points whose value fails `ok` (NaN, ±Inf, non-positive on a log axis) break the
 * line: `PEN_UP` is written where the pen lifts.
 * @param {ArrayLike<number>} xs ascending
 * @param {ArrayLike<number>} ys
 * @param {(x: number) => number} column pixel column of a step (rounded inside)
 * @param {(v: number) => boolean} ok
 * @returns {Int32Array} indices into xs/ys, with PEN_UP separators
 */
export function thin(xs, ys, column, ok) {
  const n = Math.min(xs.length, ys.length);
  let out = new Int32Array(Math.min(n, 64) + 8);
  let k = 0;
  const push = (v) => {
    if (k === out.length) {
      const bigger = new Int32Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[k++] = v;
  };
  let col = NaN;
  let first = -1;
  let lo = -1;
  let hi = -1;
  let last = -1;
  const flush = () => {
    if (first < 0) return;
    push(first);
    const a = lo < hi ? lo : hi;
    const b = lo < hi ? hi : lo;
    if (a !== first) push(a);
    if (b !== a && b !== first) push(b);
    if (last !== b && last !== first) push(last);
    first = -1;
  };
  for (let i = 0; i < n; i++) {
    const v = ys[i];
    if (!ok(v)) {
      flush();
      if (k && out[k - 1] !== PEN_UP) push(PEN_UP);
      col = NaN;
      continue;
    }
    const c = Math.round(column(xs[i]));
    if (c !== col || first < 0) {
      flush();
      col = c;
      first = lo = hi = last = i;
    } else {
      last = i;
      if (v < ys[lo]) lo = i;
      if (v > ys[hi]) hi = i;
    }
  }
  flush();
  if (k && out[k - 1] === PEN_UP) k--;
  return out.slice(0, k);
}

/**
 * Non-finite points grouped by pixel column (one marker per column, not per point).
 * @param {ArrayLike<number>} xs
 * @param {Int32Array} nonFinite indices
 * @param {(x: number) => number} column
 * @returns {Array<{first: number, last: number, count: number}>} indices of the first
 *   and last point of each group
 */
export function groupByColumn(xs, nonFinite, column) {
  const groups = [];
  let col = NaN;
  for (let j = 0; j < nonFinite.length; j++) {
    const i = nonFinite[j];
    const c = Math.round(column(xs[i]));
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
 * Whether the curves together suit a log axis: every finite value positive, spanning at
 * least `decades` powers of ten.
 * @param {Columns[]} list
 * @param {number} [decades]
 */
export function spansDecadesAll(list, decades = 2) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of list) {
    const ys = c.y;
    for (let i = 0; i < ys.length; i++) {
      const v = ys[i];
      if (!Number.isFinite(v)) continue;
      if (v <= 0) return false;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > 0) || !(lo > 0)) return false;
  return Math.log10(hi / lo) >= decades;
}
