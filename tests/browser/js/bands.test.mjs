// Unit tests of the threshold-band arithmetic of the charts (frontend/lib/bands.js). The
// lights are shaped like the health route's (their bands resolved for their run).
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {bandsForTag, includeNearEdges, subtractEarlier} from '../../../frontend/lib/bands.js';

const rule = (extra = {}) => ({
  rule: Object.assign({statistic: 'recent', normalise: 'none'}, extra),
});
const light = (bands, extra = {}) =>
  Object.assign({bands, normalise: 'none', value: 1, judged_value: 1}, extra);

test('later bands only cover what earlier ones leave', () => {
  const out = subtractEarlier([
    {status: 'collapse', lo: -Infinity, hi: 0.1},
    {status: 'warning', lo: -Infinity, hi: 0.3},
  ]);
  assert.deepEqual(out, [
    {status: 'collapse', lo: -Infinity, hi: 0.1},
    {status: 'warning', lo: 0.1, hi: 0.3},
  ]);
  const split = subtractEarlier([
    {status: 'critical', lo: 2, hi: 3},
    {status: 'warning', lo: 0, hi: 5},
  ]);
  assert.deepEqual(split, [
    {status: 'critical', lo: 2, hi: 3},
    {status: 'warning', lo: 0, hi: 2},
    {status: 'warning', lo: 3, hi: 5},
  ]);
});

test("bands of an absolute rule in data units, from the run's light", () => {
  const l = light([
    {status: 'critical', op: '>', bound: 0.97},
    {status: 'warning', op: '>', bound: 0.85},
  ]);
  const {bands, legend, note, factor} = bandsForTag(rule(), [l], null);
  assert.equal(factor, 1);
  assert.equal(note, '');
  assert.deepEqual(bands, [
    {status: 'critical', lo: 0.97, hi: Infinity},
    {status: 'warning', lo: 0.85, hi: 0.97},
  ]);
  assert.deepEqual(
    legend.map((b) => [b.status, b.op, b.bound]),
    [
      ['critical', '>', 0.97],
      ['warning', '>', 0.85],
    ],
  );
  const outside = bandsForTag(
    rule(),
    [light([{status: 'warning', op: 'outside', bound: [0.4, 0.7]}])],
    null,
  ).bands;
  assert.deepEqual(outside, [
    {status: 'warning', lo: -Infinity, hi: 0.4},
    {status: 'warning', lo: 0.7, hi: Infinity},
  ]);
});

test('a bound that follows progress is drawn as the light resolved it; runs that differ get a note', () => {
  const at = (bound) => light([{status: 'warning', op: '<', bound}]);
  assert.deepEqual(bandsForTag(rule(), [at(0.383)], null).bands, [
    {status: 'warning', lo: -Infinity, hi: 0.383},
  ]);
  const mixed = bandsForTag(rule(), [at(0.383), at(0.5)], null);
  assert.deepEqual(mixed.bands, []);
  assert.match(mixed.note, /differ/);
});

test("dimension-relative bands are drawn in raw units from the lights' ratio", () => {
  // value 0.01 judged 0.08 -> raw = judged / 8 (sqrt(64))
  const sqrt = (value, judged) =>
    light([{status: 'collapse', op: '<', bound: 0.28}], {
      normalise: 'sqrt_dim',
      value,
      judged_value: judged,
    });
  const {bands, legend, note, factor} = bandsForTag(
    rule({normalise: 'sqrt_dim'}),
    [sqrt(0.01, 0.08), sqrt('0.02', 0.16)],
    64,
  );
  assert.ok(Math.abs(factor - 0.125) < 1e-12);
  assert.ok(Math.abs(bands[0].hi - 0.035) < 1e-12);
  assert.ok(Math.abs(legend[0].raw - 0.035) < 1e-12 && legend[0].bound === 0.28);
  assert.match(note, /raw units/);
  // Runs at different D: no common raw unit, so no band and a note that says why.
  const mixed = bandsForTag(
    rule({normalise: 'sqrt_dim'}),
    [sqrt(0.01, 0.08), sqrt(0.01, 0.16)],
    null,
  );
  assert.deepEqual(mixed.bands, []);
  assert.match(mixed.note, /dimension-relative/);
  // A light with no value gives no ratio: no band.
  assert.deepEqual(bandsForTag(rule(), [sqrt(null, null)], null).bands, []);
});

test('no band for a verdict on another statistic than the curve, or without a judged light', () => {
  const l = light([{status: 'critical', op: '>', bound: 0}]);
  const {bands, note} = bandsForTag(rule({statistic: 'non_finite'}), [l], null);
  assert.deepEqual(bands, []);
  assert.match(note, /non_finite/);
  assert.deepEqual(bandsForTag(null, [], null).bands, []);
  assert.deepEqual(bandsForTag({rule: null}, [light([])], null).bands, []);
});

test('a band edge near the curve is pulled into view, a far one is not', () => {
  const bands = [
    {status: 'collapse', lo: -Infinity, hi: 0.5},
    {status: 'warning', lo: 10, hi: Infinity},
  ];
  assert.deepEqual(includeNearEdges(1, 2, bands, false), [0.5, 2]);
  assert.deepEqual(
    includeNearEdges(0.01, 0.1, [{status: 'warning', lo: 0.5, hi: Infinity}], true),
    [0.01, 0.5],
  );
  assert.deepEqual(
    includeNearEdges(0.01, 0.1, [{status: 'warning', lo: 100, hi: Infinity}], true),
    [0.01, 0.1],
  );
});
