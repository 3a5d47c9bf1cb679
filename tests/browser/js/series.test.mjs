// Unit tests of the chart arithmetic (frontend/lib/series.js): columns, smoothing, the
// binary search of the hover, the union of steps, and the min/max-per-pixel thinning.
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {
  columnsFromRows,
  extent,
  groupByColumn,
  nearestIndex,
  PEN_UP,
  pixelColumns,
  smooth,
  spansDecadesAll,
  thin,
  unionSorted,
} from '../../../frontend/lib/series.js';

test('columns from the scalars route keep NaN/Inf and drop unreadable rows', () => {
  const c = columnsFromRows([
    [0, 10, 1.5],
    [1, 11, 'NaN'],
    [2, 12, 'Infinity'],
    [null, 13, 1],
    [3, 14, 'oops'],
    [4, null, 2],
  ]);
  assert.deepEqual(Array.from(c.x), [0, 1, 2, 4]);
  assert.equal(c.y[0], 1.5);
  assert.ok(Number.isNaN(c.y[1]));
  assert.equal(c.y[2], Infinity);
  assert.ok(Number.isNaN(c.wall[3]));
  assert.deepEqual(Array.from(c.nonFinite), [1, 2]);
});

test('columns are sorted by step when rows arrive out of order', () => {
  const c = columnsFromRows([
    [5, 0, 50],
    [1, 0, 10],
    [3, 0, 30],
  ]);
  assert.deepEqual(Array.from(c.x), [1, 3, 5]);
  assert.deepEqual(Array.from(c.y), [10, 30, 50]);
});

test("smooth is TensorBoard's debiased EMA and passes non-finite values through", () => {
  assert.deepEqual(smooth([1, 2, 3], 0), [1, 2, 3]);
  const s = smooth([1, 2, NaN, 4], 0.6);
  assert.equal(s[0], 1); // debiased: the first point is itself
  assert.ok(Math.abs(s[1] - (0.6 * 0.4 * 1 + 0.4 * 2) / (1 - 0.36)) < 1e-12);
  assert.ok(Number.isNaN(s[2]));
  assert.ok(Math.abs(s[3] - (0.6 * (0.6 * 0.4 + 0.4 * 2) + 0.4 * 4) / (1 - 0.216)) < 1e-12);
  assert.deepEqual(smooth([3, 3, 3], 0.9), [3, 3, 3]);
});

test('smooth writes into a given buffer (a redraw allocates nothing)', () => {
  const ys = Float64Array.from([4, 2, 6, 8]);
  const out = new Float64Array(4);
  const r = smooth(ys, 0.5, out);
  assert.equal(r, out);
  assert.equal(out[0], 4);
  // Every smoothed value is a weighted mean of finite values: inside their range.
  for (const v of out) assert.ok(v >= 2 && v <= 8);
});

test('nearestIndex is a binary search over ascending steps', () => {
  const xs = Float64Array.from([0, 10, 20, 30]);
  assert.equal(nearestIndex(xs, -5), 0);
  assert.equal(nearestIndex(xs, 4), 0);
  assert.equal(nearestIndex(xs, 5), 0); // a tie goes to the lower index
  assert.equal(nearestIndex(xs, 6), 1);
  assert.equal(nearestIndex(xs, 29), 3);
  assert.equal(nearestIndex(xs, 1e9), 3);
  assert.equal(nearestIndex(new Float64Array(0), 3), -1);
  const big = Float64Array.from({length: 100000}, (_, i) => i * 2);
  assert.equal(nearestIndex(big, 77777.2), 38889);
});

test("unionSorted merges the runs' steps once, without duplicates", () => {
  assert.deepEqual(Array.from(unionSorted([[0, 2, 4], [1, 2, 5], []])), [0, 1, 2, 4, 5]);
  assert.deepEqual(Array.from(unionSorted([[3, 7]])), [3, 7]);
  assert.deepEqual(Array.from(unionSorted([])), []);
});

test('extent over the values that pass, steps over all', () => {
  const c = columnsFromRows([
    [0, 0, -1],
    [1, 0, 'NaN'],
    [2, 0, 0.5],
    [3, 0, 4],
  ]);
  assert.deepEqual(extent(c, Number.isFinite), {x0: 0, x1: 3, y0: -1, y1: 4});
  assert.deepEqual(
    extent(c, (v) => Number.isFinite(v) && v > 0),
    {x0: 0, x1: 3, y0: 0.5, y1: 4},
  );
});

test('pixel columns map steps onto the plot once per x scale', () => {
  const cols = pixelColumns([0, 5, 10], 0, 10, 50, 100);
  assert.deepEqual(Array.from(cols), [50, 100, 150]);
});

// Pixel columns of `per` consecutive points each.
const columnsOf = (n, per) => Int32Array.from({length: n}, (_, i) => Math.floor(i / per));

test('thin keeps first, lowest, highest and last point of each pixel column, in order', () => {
  const ys = [5, 1, 9, 4, 2, 2, 8, 3];
  const idx = Array.from(thin(ys, columnsOf(8, 4)));
  // column 0 (i 0..3): first 0, low 1, high 2, last 3; column 1 (i 4..7): first 4 (low), high 6, last 7
  assert.deepEqual(idx, [0, 1, 2, 3, 4, 6, 7]);
});

test('thin draws a 100,000-point curve as a few points per pixel and keeps its spikes', () => {
  const n = 100000;
  const xs = Float64Array.from({length: n}, (_, i) => i);
  const ys = Float64Array.from({length: n}, (_, i) => Math.sin(i / 500));
  ys[31337] = 50; // one spike
  ys[77777] = -50; // one dip
  const width = 400;
  const idx = thin(ys, pixelColumns(xs, 0, n - 1, 0, width));
  assert.ok(idx.length <= 4 * (width + 1), `${idx.length} points for ${width} columns`);
  assert.ok(idx.includes(31337) && idx.includes(77777), 'spikes survive thinning');
  for (let j = 1; j < idx.length; j++) assert.ok(idx[j] > idx[j - 1], 'indices in drawing order');
  // Fewer points than columns: nothing is dropped.
  assert.deepEqual(Array.from(thin([1, 2, 3], Int32Array.from([0, 100, 200]))), [0, 1, 2]);
});

test('thin breaks the line at values that fail (NaN, ±Inf, non-positive on a log axis)', () => {
  const ys = [1, NaN, 2, -1, 3, Infinity, 4];
  const cols = Int32Array.from([0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(Array.from(thin(ys, cols)), [0, PEN_UP, 2, 3, 4, PEN_UP, 6]);
  assert.deepEqual(Array.from(thin(ys, cols, true)), [0, PEN_UP, 2, PEN_UP, 4, PEN_UP, 6]);
  assert.deepEqual(Array.from(thin([NaN, NaN], Int32Array.from([0, 1]))), []);
  assert.deepEqual(Array.from(thin([], new Int32Array(0))), []);
});

test('thin agrees with a plain per-column min/max on random data', () => {
  let seed = 7;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const n = 5000;
  const ys = Float64Array.from({length: n}, () => (rand() < 0.01 ? NaN : rand() * 10 - 5));
  const cols = columnsOf(n, 37);
  const kept = new Set(thin(ys, cols));
  // Every column's finite min and max survive (per run of finite values).
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || cols[i] !== cols[start] || Number.isNaN(ys[i]) !== Number.isNaN(ys[start])) {
      const seg = [];
      for (let j = start; j < i; j++) if (!Number.isNaN(ys[j])) seg.push(j);
      if (seg.length) {
        const lo = seg.reduce((a, b) => (ys[b] < ys[a] ? b : a));
        const hi = seg.reduce((a, b) => (ys[b] > ys[a] ? b : a));
        assert.ok(kept.has(lo) && kept.has(hi), `column ${cols[start]}`);
      }
      start = i;
    }
  }
});

test('non-finite markers: one per pixel column', () => {
  const cols = Int32Array.from([0, 0, 0, 0, 2, 2]);
  const groups = groupByColumn(Int32Array.from([1, 2, 3, 4, 5]), cols);
  assert.deepEqual(groups, [
    {first: 1, last: 3, count: 3},
    {first: 4, last: 5, count: 2},
  ]);
});

test('log axis by default only for positive curves spanning two decades', () => {
  const c = (ys) => columnsFromRows(ys.map((y, i) => [i, 0, y]));
  assert.equal(spansDecadesAll([c([1, 0.5]), c([0.2])]), false);
  assert.equal(spansDecadesAll([c([1, 'NaN']), c([0.001])]), true);
  assert.equal(spansDecadesAll([c([1, 0.001, -1])]), false);
});

test("a curve's memo is computed once and smoothing is redone only when it changes", async () => {
  const {memoOf, smoothedOf} = await import('../../../frontend/lib/series.js');
  const c = columnsFromRows([
    [0, 0, 1],
    [1, 0, 'NaN'],
    [2, 0, 4],
    [3, 0, -2],
  ]);
  const m = memoOf(c);
  assert.equal(memoOf(c), m);
  assert.deepEqual(m.lin, {x0: 0, x1: 3, y0: -2, y1: 4});
  assert.deepEqual(m.pos, {x0: 0, x1: 3, y0: 1, y1: 4});
  const a = smoothedOf(c, 0.5);
  a[0] = 123; // a smoothing that did not change is not recomputed
  assert.equal(smoothedOf(c, 0.5)[0], 123);
  assert.equal(smoothedOf(c, 0.6)[0], 1);
});

test('the union of identical step arrays is one of them (no copy)', () => {
  const a = Float64Array.from([0, 1, 2]);
  const b = Float64Array.from([0, 1, 2]);
  assert.equal(unionSorted([a, b]), a);
  assert.deepEqual(Array.from(unionSorted([a, Float64Array.from([1, 3])])), [0, 1, 2, 3]);
});
