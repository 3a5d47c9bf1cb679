// Unit tests of "what to do first" (frontend/lib/todo.js) and the catalogue look-ups
// (frontend/lib/catalog.js), on answers shaped like the health and catalog routes'.
// Run: node --test tests/browser/js/

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {categoryOrder, describeKey, entryOf} from '../../../frontend/lib/catalog.js';
import {whatToDo} from '../../../frontend/lib/todo.js';

const check = (id, fired, detail = `${id} detail`) => ({id, fired, detail, text: `${id} text`});

test('firing branches first, then detected patterns, each with its first action and the evidence that fired', () => {
  const health = {
    flowchart: [
      {id: 'quiet', fired: false, actions: ['no'], triggers: [check('t0', true)]},
      {id: 'na', fired: true, applicable: false, actions: ['never']},
      {
        id: 'b1',
        question: 'Collapse?',
        fired: true,
        actions: ['Lower the LR', 'second'],
        triggers: [check('t1', true), check('t2', false)],
        checks: [check('c1', null), check('c2', true)],
      },
    ],
    patterns: [
      {id: 'p0', detected: false, fix: 'nothing'},
      {
        id: 'p1',
        name: 'Divergence',
        detected: true,
        fix: 'Clip gradients',
        symptoms: [check('s1', true)],
        any_symptoms: [check('a1', false), check('a2', true)],
        evidence: [check('e1', true)],
      },
    ],
  };
  const todo = whatToDo(health);
  assert.deepEqual(
    todo.map((t) => [t.kind, t.id, t.title, t.action]),
    [
      ['branch', 'b1', 'Collapse?', 'Lower the LR'],
      ['pattern', 'p1', 'Divergence', 'Clip gradients'],
    ],
  );
  assert.deepEqual(
    todo[0].evidence.map((c) => c.id),
    ['t1', 'c2'],
  );
  assert.deepEqual(
    todo[1].evidence.map((c) => c.id),
    ['s1', 'a2', 'e1'],
  );
});

test('nothing to do for a quiet run or a missing answer', () => {
  assert.deepEqual(whatToDo({flowchart: [], patterns: []}), []);
  assert.deepEqual(whatToDo({}), []);
  assert.deepEqual(whatToDo(null), []);
  assert.deepEqual(whatToDo({flowchart: [{id: 'x', fired: true}]})[0].action, '');
});

test('catalogue look-ups cover metrics and derived quantities', () => {
  const catalog = {
    metrics: [
      {key: 'a.m', meaning: 'M', unit: 'u', category: 'a'},
      {key: 'b.n', category: 'b'},
    ],
    derived: [{key: 'derived.x', meaning: 'X', unit: 'fraction', category: 'hierarchy', rule: {}}],
  };
  assert.equal(entryOf(catalog, 'derived.x').meaning, 'X');
  assert.deepEqual(describeKey(catalog, 'a.m'), {meaning: 'M', unit: 'u', category: 'a'});
  assert.deepEqual(describeKey(catalog, 'nope'), {meaning: '', unit: '', category: ''});
  assert.deepEqual(describeKey(null, 'a.m'), {meaning: '', unit: '', category: ''});
  assert.deepEqual(categoryOrder(catalog), ['a', 'b', 'hierarchy']);
});
