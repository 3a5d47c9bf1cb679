// Unit tests of the threshold-band arithmetic of the charts (frontend/bands.js). The
// rules are shaped like the catalogue route's (`rule.bands` of a metric record).
// Run: node --test tests/browser/js/
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {bandsForTag, includeNearEdges, subtractEarlier} from '../../../frontend/bands.js';

const rule = (bands, extra = {}) => ({rule: Object.assign({bands, statistic: 'recent', normalise: 'none'}, extra)});

test('later bands only cover what earlier ones leave', () => {
  const out = subtractEarlier([{status: 'collapse', lo: -Infinity, hi: 0.1}, {status: 'warning', lo: -Infinity, hi: 0.3}]);
  assert.deepEqual(out, [{status: 'collapse', lo: -Infinity, hi: 0.1}, {status: 'warning', lo: 0.1, hi: 0.3}]);
  const split = subtractEarlier([{status: 'critical', lo: 2, hi: 3}, {status: 'warning', lo: 0, hi: 5}]);
  assert.deepEqual(split, [{status: 'critical', lo: 2, hi: 3}, {status: 'warning', lo: 0, hi: 2}, {status: 'warning', lo: 3, hi: 5}]);
});

test('bands of an absolute rule in data units', () => {
  const m = rule([{status: 'critical', op: '>', bound: 0.97}, {status: 'warning', op: '>', bound: 0.85}]);
  const {bands, note, factor} = bandsForTag(m, [], null);
  assert.equal(factor, 1);
  assert.equal(note, '');
  assert.deepEqual(bands, [{status: 'critical', lo: 0.97, hi: Infinity}, {status: 'warning', lo: 0.85, hi: 0.97}]);
  const outside = bandsForTag(rule([{status: 'warning', op: 'outside', bound: [0.4, 0.7]}]), [], null).bands;
  assert.deepEqual(outside, [{status: 'warning', lo: -Infinity, hi: 0.4}, {status: 'warning', lo: 0.7, hi: Infinity}]);
});

test('dimension-relative bands are drawn in raw units from the lights\' ratio', () => {
  const m = rule([{status: 'collapse', op: '<', bound: 0.28}], {normalise: 'sqrt_dim'});
  // value 0.01 judged 0.08 -> raw = judged / 8 (sqrt(64))
  const lights = [{value: 0.01, judged_value: 0.08}, {value: '0.02', judged_value: 0.16}];
  const {bands, note, factor} = bandsForTag(m, lights, 64);
  assert.ok(Math.abs(factor - 0.125) < 1e-12);
  assert.ok(Math.abs(bands[0].hi - 0.035) < 1e-12);
  assert.match(note, /raw units/);
  // Runs at different D: no common raw unit, so no band and a note that says why.
  const mixed = bandsForTag(m, [{value: 0.01, judged_value: 0.08}, {value: 0.01, judged_value: 0.16}], null);
  assert.deepEqual(mixed.bands, []);
  assert.match(mixed.note, /dimension-relative/);
});

test('no band for a verdict on another statistic than the curve', () => {
  const m = rule([{status: 'critical', op: '>', bound: 0}], {statistic: 'non_finite'});
  const {bands, note} = bandsForTag(m, [], null);
  assert.deepEqual(bands, []);
  assert.match(note, /non_finite/);
  assert.deepEqual(bandsForTag(null, [], null).bands, []);
  assert.deepEqual(bandsForTag({rule: null}, [], null).bands, []);
});

test('a dimension bound resolves at the run\'s D', () => {
  const m = rule([{status: 'warning', op: '>', bound: {kind: 'dim_bound', floor: 0.3, per_sqrt_dim: 4}}]);
  assert.equal(bandsForTag(m, [], null).bands[0].lo, 0.3);
  assert.ok(Math.abs(bandsForTag(m, [], 64).bands[0].lo - 0.5) < 1e-12);
});

test('a band edge near the curve is pulled into view, a far one is not', () => {
  const bands = [{status: 'collapse', lo: -Infinity, hi: 0.5}, {status: 'warning', lo: 10, hi: Infinity}];
  assert.deepEqual(includeNearEdges(1, 2, bands, false), [0.5, 2]);
  assert.deepEqual(includeNearEdges(0.01, 0.1, [{status: 'warning', lo: 0.5, hi: Infinity}], true), [0.01, 0.5]);
  assert.deepEqual(includeNearEdges(0.01, 0.1, [{status: 'warning', lo: 100, hi: Infinity}], true), [0.01, 0.1]);
});
