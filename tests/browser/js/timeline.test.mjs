// Unit tests of the health timeline's pure helpers (frontend/lib/timeline.js), on answers
// shaped like the health route's `timeline`.
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {leftHealthy, stretches} from '../../../frontend/lib/timeline.js';

test('points of one status merge into stretches that tile the run', () => {
  const points = [
    {step: 0, status: 'unknown'},
    {step: 100, status: 'healthy'},
    {step: 200, status: 'healthy'},
    {step: 300, status: 'warning'},
    {step: 400, status: 'collapse'},
    {step: 500, status: 'collapse'},
  ];
  assert.deepEqual(stretches(points), [
    {from: 0, start: 0, to: 0, status: 'unknown'},
    {from: 0, start: 100, to: 200, status: 'healthy'},
    {from: 200, start: 300, to: 300, status: 'warning'},
    {from: 300, start: 400, to: 500, status: 'collapse'},
  ]);
  // The drawn widths add up to the run's span.
  const parts = stretches(points);
  assert.equal(
    parts.reduce((a, s) => a + (s.to - s.from), 0),
    500,
  );
});

test('points without a finite step are skipped, a missing status is unknown', () => {
  assert.deepEqual(stretches([{step: null, status: 'healthy'}, {step: 10}, null]), [
    {from: 10, start: 10, to: 10, status: 'unknown'},
  ]);
  assert.deepEqual(stretches([]), []);
});

test("a chart's light is found by key and level; a run-wide light has level null", () => {
  const health = {
    timeline: {
      lights: [
        {key: 'collapse.effective_rank', level: 1, step: 300, status: 'collapse'},
        {key: 'stability.loss_spike_ratio', level: null, step: 120, status: 'warning'},
      ],
    },
  };
  assert.deepEqual(leftHealthy(health, 'collapse.effective_rank', 1), {
    step: 300,
    status: 'collapse',
  });
  assert.equal(leftHealthy(health, 'collapse.effective_rank', 0), null);
  assert.deepEqual(leftHealthy(health, 'stability.loss_spike_ratio', undefined), {
    step: 120,
    status: 'warning',
  });
  assert.equal(leftHealthy({timeline: null}, 'x', 0), null);
  assert.equal(leftHealthy({}, 'x', 0), null);
});
