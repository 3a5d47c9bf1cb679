// Unit tests of the tab's number and text formatting (frontend/lib/format.js).
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {
  boundText,
  categoryLabel,
  comparisonText,
  csvField,
  dimText,
  formatPercent,
  formatStep,
  formatValue,
  keyLabel,
  levelText,
  logTicks,
  niceTicks,
  normaliseText,
  num,
  safeFileName,
  sourceLabel,
  spansDecades,
  statusRank,
  toCsv,
} from '../../../frontend/lib/format.js';

test('num reads the non-finite strings of TensorBoard JSON', () => {
  assert.ok(Number.isNaN(num('NaN')));
  assert.equal(num('Infinity'), Infinity);
  assert.equal(num('-Infinity'), -Infinity);
  assert.equal(num(0.5), 0.5);
  assert.equal(num(null), null);
  assert.equal(num('collapsing'), null);
});

test('formatValue', () => {
  assert.equal(formatValue(null), '—');
  assert.equal(formatValue('NaN'), 'NaN');
  assert.equal(formatValue('Infinity'), '+∞');
  assert.equal(formatValue(0.004085123), '0.004085');
  assert.equal(formatValue(1e-5), '1e-5');
  assert.equal(formatValue(0.00027), '2.7e-4');
  assert.equal(formatValue(2000), '2000');
  assert.equal(formatValue(0.5), '0.5');
  assert.equal(formatStep(12000), '12,000');
});

test('spansDecades decides the default log axis', () => {
  assert.equal(spansDecades([1, 0.5, 0.2]), false);
  assert.equal(spansDecades([1, 0.001]), true);
  assert.equal(spansDecades([1, 0.001, -1]), false); // non-positive: no log axis
  assert.equal(spansDecades([1, NaN, 0.001]), true);
});

test('ticks', () => {
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 599, 5), [0, 100, 200, 300, 400, 500]);
  assert.deepEqual(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
});

test('bounds as the health answer gives them (resolved numbers and pairs)', () => {
  assert.equal(boundText([0.4, 0.7]), '[0.4, 0.7]');
  assert.equal(boundText(0.015), '0.015');
  assert.equal(comparisonText('<', 0.28), '< 0.28');
  assert.equal(comparisonText('>=', 1), '≥ 1');
  assert.equal(comparisonText('outside', [0.9, 1]), 'outside [0.9, 1]');
});

test('CSV quoting and formula defusing', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('=cmd()'), "'=cmd()");
  assert.equal(csvField(NaN), 'NaN');
  assert.equal(toCsv(['run', 'v'], [['<img src=x>', 1]]), 'run,v\n<img src=x>,1\n');
  assert.equal(safeFileName('train/loss/total'), 'train_loss_total');
});

test('status order', () => {
  assert.ok(statusRank('critical') > statusRank('collapse'));
  assert.ok(statusRank('collapse') > statusRank('warning'));
  assert.equal(statusRank('bogus'), 0);
});

test('log ticks over less than two decades use 1-2-5 steps', () => {
  assert.deepEqual(logTicks(0.15, 9), [0.2, 0.5, 1, 2, 5]);
});

test('labels of keys, levels, sources and categories', () => {
  assert.equal(keyLabel('collapse.effective_rank'), 'effective rank');
  assert.equal(
    keyLabel('derived.contribution_min_share', {withCategory: true}),
    'derived contribution min share',
  );
  assert.equal(levelText(2), 'level 2');
  assert.equal(levelText(null), '');
  assert.equal(sourceLabel('plain'), 'plain scalars');
  assert.equal(sourceLabel('someone_else'), 'someone_else');
  assert.equal(categoryLabel('learning_rate'), 'Learning rate');
  assert.equal(formatPercent(0.4712, 1), '47.1%');
  assert.equal(formatPercent(null), '—');
});

test('which D a verdict assumed, in words', () => {
  assert.equal(dimText(null, null), 'D unknown');
  assert.equal(dimText(768, 'manifest'), 'D=768 (run manifest)');
  assert.match(dimText(512, 'user'), /^D=512 \(assumed/);
  assert.equal(dimText(192, undefined), 'D=192');
  assert.equal(normaliseText('sqrt_dim', 64), 'judged as value × √D (D=64)');
  assert.equal(normaliseText('none', 64), '');
});

test('formatValue of large, negative and integer-valued numbers', () => {
  assert.equal(formatValue(123456), '1.23e5');
  assert.equal(formatValue(-0.25), '-0.25');
  assert.equal(formatValue('-Infinity'), '−∞');
  assert.equal(formatValue(3.0), '3');
  assert.equal(formatStep(99999.6), '100,000');
  assert.equal(formatStep('NaN'), '—');
});

test('formatStep groups thousands', () => {
  for (const [v, s] of [
    [0, '0'],
    [999, '999'],
    [1000, '1,000'],
    [123456789, '123,456,789'],
    [-12000, '-12,000'],
    ['1e6', '1,000,000'],
  ]) {
    assert.equal(formatStep(v), s);
  }
});
