// Unit tests of the tab's place in the URL hash (frontend/lib/hash.js): what a copied link
// holds, and that a malformed one is read as far as it can be, never thrown.
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {formatHash, MAX_RUNS, parseDim, parseHash, samePlace} from '../../../frontend/lib/hash.js';

test('a place round-trips through the hash, hostile run names included', () => {
  const place = {
    runs: ['exp/a b', '<img src=x onerror=alert(1)>', 'x&view=y#z'],
    view: 'charts',
    category: 'loss',
    dim: 768,
  };
  const hash = formatHash(place);
  assert.ok(hash.startsWith('#run='));
  assert.ok(!hash.includes('<') && !hash.includes(' '));
  const {place: back, problems} = parseHash(hash);
  assert.deepEqual(back, place);
  assert.deepEqual(problems, []);
});

test('the overview is the empty hash; D alone is kept', () => {
  assert.equal(formatHash({runs: [], view: 'charts', category: 'loss', dim: null}), '');
  assert.equal(formatHash({runs: [], view: null, category: null, dim: 512}), '#dim=512');
  assert.deepEqual(parseHash('').place, {runs: [], view: null, category: null, dim: null});
  assert.deepEqual(parseHash('#').place, {runs: [], view: null, category: null, dim: null});
});

test('a malformed hash is read as far as it can be', () => {
  const {place, problems} = parseHash('#run=ok&run=%E0%A4%A&view=lights&bogus=1&dim=-3&&=&run=');
  assert.deepEqual(place.runs, ['ok']);
  assert.equal(place.view, 'lights');
  assert.equal(place.dim, null);
  assert.equal(problems.length, 4); // bad encoding, unknown part, bad D, empty run
  assert.doesNotThrow(() => parseHash('#%'));
  assert.doesNotThrow(() => parseHash('#run=%ZZ'));
  assert.ok(parseHash(`#${'run=a&'.repeat(5000)}`).problems.some((p) => /longer/.test(p)));
});

test('runs are de-duplicated and capped', () => {
  const many = Array.from({length: MAX_RUNS + 5}, (_, i) => `run=r${i}`).join('&');
  const {place, problems} = parseHash(`#run=a&run=a&${many}`);
  assert.equal(place.runs.length, MAX_RUNS);
  assert.equal(place.runs[0], 'a');
  assert.ok(problems.some((p) => /more than/.test(p)));
});

test('D is a positive whole number', () => {
  assert.equal(parseDim('768'), 768);
  assert.equal(parseDim(' 64 '), 64);
  for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '', '99999999', null])
    assert.equal(parseDim(bad), null, String(bad));
});

test('samePlace ignores the order of parts other than runs and encoding variants', () => {
  assert.ok(samePlace('#view=charts&run=a&dim=8', '#run=a&view=charts&dim=8'));
  assert.ok(samePlace('#run=a%20b', '#run=a+b'));
  assert.ok(!samePlace('#run=a&run=b', '#run=b&run=a'));
  assert.ok(!samePlace('#run=a', '#run=a&dim=8'));
});
