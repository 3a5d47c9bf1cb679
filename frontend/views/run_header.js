// The header of each open run, above the views: name, status and why, step, source
// (and the naming convention of another codebase's tags), levels, which embedding
// dimension D the verdict assumed, the verdict through the run (timeline_strip.js), the
// last healthy checkpoint, what the reader could not use (the answer's notes: an
// unreadable manifest), and "what to do first": the action of the strongest evidence
// that fired (the health answer's first_action) and the evidence it answers, then the
// general action of every firing flowchart branch and detected pattern, with the
// evidence that fired.

import {timelineStrip} from '../charts/timeline_strip.js';
import {C} from '../lib/classes.js';
import {dimText, formatStep, sourceLabel} from '../lib/format.js';
import {whatToDo} from '../lib/todo.js';
import {h, runSwatch, statusBadge, statusIcon} from '../page/dom.js';
import {checkDetail} from './checks.js';

/** Evidence lines shown per item before "+N more". */
const EVIDENCE_SHOWN = 4;

function todoItem(t, first, openFirst) {
  const evidence = t.evidence.slice(0, EVIDENCE_SHOWN);
  const more = t.evidence.length - evidence.length;
  const why = evidence.length
    ? h(
        'details',
        {class: C.todoWhy},
        h(
          'summary',
          {},
          `why: ${t.evidence.length} check${t.evidence.length === 1 ? '' : 's'} fired`,
        ),
        h(
          'ul',
          {class: C.todoEvidence, 'aria-label': 'evidence that fired'},
          evidence.map((c) =>
            h(
              'li',
              {dataset: {check: c.id || ''}},
              c.text ? h('span', {class: C.todoCheck}, `${c.text}: `) : null,
              h('span', {class: C.todoDetail}, checkDetail(c)),
            ),
          ),
          more > 0 ? h('li', {class: C.muted}, `+${more} more in the Diagnosis view`) : null,
        ),
      )
    : null;
  if (why && first && openFirst) why.open = true;
  return h(
    'li',
    {class: [C.todoItem, first && C.todoFirst], dataset: {kind: t.kind, [t.kind]: t.id}},
    h(
      'div',
      {class: C.todoHead},
      t.kind === 'branch'
        ? statusBadge('critical', {label: 'branch fires', compact: true})
        : statusBadge('warning', {label: 'pattern', compact: true}),
      h('span', {class: C.todoTitle}, t.title),
    ),
    t.action
      ? h(
          'div',
          {class: C.todoAction},
          h('span', {class: C.todoArrow, 'aria-hidden': 'true'}, '→ '),
          t.action,
        )
      : h('div', {class: [C.todoAction, C.muted]}, 'No action listed: see the Diagnosis view.'),
    why,
  );
}

/**
 * "What to do first" of one run, or null when nothing fires.
 * @param {object} health
 * @param {{openFirst?: boolean}} [o] show the first item's evidence (one run open)
 */
export function todoBox(health, {openFirst = true} = {}) {
  const todos = whatToDo(health);
  const first = health?.first_action;
  if (!todos.length && !first) return null;
  return h(
    'div',
    {class: C.todo, role: 'region', 'aria-label': 'what to do first'},
    h('div', {class: C.todoLabel}, 'What to do first'),
    first
      ? h(
          'div',
          {class: C.todoDoFirst, dataset: {evidence: String(first.evidence || '')}},
          h(
            'div',
            {class: C.todoDoFirstAction},
            h('span', {class: C.todoArrow, 'aria-hidden': 'true'}, '→ '),
            String(first.action || ''),
          ),
          h('div', {class: C.todoAnswers}, `it answers: ${first.answers || ''}`),
        )
      : null,
    todos.length ? h('div', {class: C.todoGeneral}, 'General actions of what fires:') : null,
    todos.length
      ? h(
          'ol',
          {class: C.todoList},
          todos.map((t, i) => todoItem(t, i === 0, openFirst)),
        )
      : null,
  );
}

/**
 * @param {import('./views.js').RunItem[]} items
 * @returns {HTMLElement}
 */
export function runHeads(items) {
  const heads = h('div', {class: C.runHeads});
  for (const it of items) {
    const hd = it.health;
    const levels = Array.isArray(hd.levels)
      ? ` · ${hd.levels.length} level${hd.levels.length === 1 ? '' : 's'}`
      : '';
    heads.appendChild(
      h(
        'div',
        {class: [C.card, C.runHead], dataset: {run: it.run, status: hd.status || 'unknown'}},
        h(
          'div',
          {class: C.runHeadTop},
          h(
            'div',
            {class: C.runHeadName},
            runSwatch(it.color),
            h('span', {class: C.runText}, it.run),
          ),
          statusBadge(hd.status),
          h(
            'span',
            {class: [C.muted, C.small]},
            `step ${formatStep(hd.last_step)}${hd.total_steps ? ` of ${formatStep(hd.total_steps)}` : ''}`,
            ` · ${sourceLabel(hd.source)}`,
            hd.convention
              ? h(
                  'span',
                  {class: C.runConvention, title: 'the naming convention of the tags read'},
                  ` (${hd.convention})`,
                )
              : null,
            levels,
            ' · ',
            h(
              'span',
              {
                class: C.dimInfo,
                dataset: {dim: hd.embed_dim || '', dimSource: hd.embed_dim_source || ''},
              },
              dimText(hd.embed_dim, hd.embed_dim_source),
            ),
          ),
        ),
        hd.status_reason
          ? h('div', {class: [C.muted, C.small, C.statusReason]}, hd.status_reason)
          : null,
        timelineStrip(hd),
        Number.isFinite(hd.healthy_checkpoint_step) && hd.status !== 'healthy'
          ? h(
              'div',
              {class: [C.muted, C.small, C.healthyCheckpoint]},
              `last healthy checkpoint: step ${formatStep(hd.healthy_checkpoint_step)} (hjepa-train --resume --from-healthy)`,
            )
          : null,
        hd.dim_note
          ? h(
              'div',
              {class: [C.notice, C.dimNote]},
              statusIcon('unknown'),
              h('span', {}, hd.dim_note),
            )
          : null,
        ...(Array.isArray(hd.notes) ? hd.notes : []).map((n) =>
          h('div', {class: [C.notice, C.runNote]}, statusIcon('unknown'), h('span', {}, String(n))),
        ),
        todoBox(hd, {openFirst: items.length === 1}),
      ),
    );
  }
  return heads;
}
