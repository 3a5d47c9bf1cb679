// The runs overview: one row per run with its status, last step, source, levels, D and
// worst lights; tick runs to compare them.

import {C} from '../lib/classes.js';
import {formatStep, keyLabel, sourceLabel} from '../lib/format.js';
import {RUN_COLORS} from '../lib/palette.js';
import {h, runSwatch, statusBadge} from '../page/dom.js';

/** The D cell of a run: the number, and "assumed" when it is the D the user typed. */
function dimCell(r) {
  if (r.embed_dim === null || r.embed_dim === undefined) return '—';
  if (r.embed_dim_source === 'user') {
    return h(
      'span',
      {title: 'D typed in this tab (the run has no manifest D)'},
      String(r.embed_dim),
      h('span', {class: [C.muted, C.small]}, ' assumed'),
    );
  }
  return String(r.embed_dim);
}

/** The text of the compare button for `n` ticked runs. */
export function compareLabel(n) {
  return n > 1
    ? `Compare ${n} selected runs`
    : n === 1
      ? 'Open selected run'
      : 'Select runs to compare';
}

/**
 * @param {Object} p
 * @param {Array<object>} p.runs rows of the `runs` route
 * @param {string[]} p.checked runs ticked for comparison
 * @param {string[]} p.statusOrder status words, worst last
 * @param {(run: string) => void} p.onOpen
 * @param {() => void} p.onOpenMany opens the ticked runs
 * @param {(run: string, on: boolean) => void} p.onCheck
 * @returns {HTMLElement}
 */
export function overviewView({runs, checked, onOpen, onOpenMany, onCheck, statusOrder}) {
  const ticked = new Set(checked);
  const counts = {};
  for (const r of runs) counts[r.status || 'unknown'] = (counts[r.status || 'unknown'] || 0) + 1;
  const summary = h(
    'div',
    {class: C.overviewSummary},
    h('span', {class: C.overviewCount}, `${runs.length} run${runs.length === 1 ? '' : 's'}`),
    ...statusOrder
      .slice()
      .reverse()
      .filter((s) => counts[s])
      .map((s) => statusBadge(s, {label: `${counts[s]} ${s}`, compact: true})),
  );
  const compare = h(
    'button',
    {
      class: [C.button, C.buttonPrimary],
      type: 'button',
      disabled: checked.length < 1,
      'data-action': 'open-selected',
      on: {click: () => onOpenMany()},
    },
    compareLabel(checked.length),
  );

  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', {class: C.colCheck}, h('span', {class: C.srOnly}, 'select')),
      h('th', {}, 'Run'),
      h('th', {}, 'Status'),
      h('th', {class: C.num}, 'Last step'),
      h('th', {}, 'Source'),
      h('th', {class: C.num}, 'Levels'),
      h('th', {class: C.num}, 'Dim'),
      h('th', {}, 'Worst lights'),
    ),
  );
  const body = h('tbody');
  runs.forEach((r, i) => {
    const name = String(r.run);
    const box = h('input', {
      type: 'checkbox',
      'aria-label': `select run ${name}`,
      on: {
        change: (ev) => {
          if (ev.target.checked) ticked.add(name);
          else ticked.delete(name);
          compare.disabled = ticked.size < 1;
          compare.textContent = compareLabel(ticked.size);
          onCheck(name, ev.target.checked);
        },
        click: (ev) => ev.stopPropagation(),
      },
    });
    box.checked = checked.includes(name);
    const worst = h('div', {class: C.worst});
    const lights = Array.isArray(r.worst) ? r.worst : [];
    if (!lights.length) worst.appendChild(h('span', {class: C.muted}, '—'));
    for (const w of lights) {
      worst.appendChild(
        h(
          'span',
          {class: C.worstItem},
          statusBadge(w.status, {compact: true}),
          h(
            'span',
            {class: C.worstName},
            `${keyLabel(w.key, {withCategory: true})}${w.level === null || w.level === undefined ? '' : ` · L${w.level}`}`,
          ),
        ),
      );
    }
    body.appendChild(
      h(
        'tr',
        {
          class: C.runRow,
          dataset: {run: name, status: r.status || 'unknown'},
          on: {click: () => onOpen(name)},
        },
        h('td', {class: C.colCheck}, box),
        h(
          'td',
          {},
          h(
            'button',
            {
              class: [C.linkButton, C.runName],
              type: 'button',
              title: `open ${name}`,
              on: {
                click: (ev) => {
                  ev.stopPropagation();
                  onOpen(name);
                },
              },
            },
            runSwatch(RUN_COLORS[i % RUN_COLORS.length]),
            h('span', {class: C.runText}, name),
          ),
        ),
        h(
          'td',
          {},
          statusBadge(r.status),
          r.status_reason
            ? h('div', {class: [C.muted, C.small, C.statusReason]}, r.status_reason)
            : null,
        ),
        h('td', {class: C.num}, formatStep(r.last_step)),
        h(
          'td',
          {},
          h('span', {class: C.pill, dataset: {source: r.source || ''}}, sourceLabel(r.source)),
        ),
        h(
          'td',
          {class: C.num},
          r.levels === null || r.levels === undefined ? '—' : String(r.levels),
        ),
        h(
          'td',
          {class: [C.num, C.dimCell], dataset: {dimSource: r.embed_dim_source || ''}},
          dimCell(r),
        ),
        h('td', {}, worst),
      ),
    );
  });
  return h(
    'section',
    {class: C.section, 'aria-label': 'runs overview'},
    h(
      'div',
      {class: C.overviewHead},
      h('h2', {class: C.sectionTitle}, 'Runs'),
      summary,
      h('span', {class: C.barSpacer}),
      compare,
    ),
    h('div', {class: C.card}, h('table', {class: C.table}, head, body)),
    h(
      'p',
      {class: [C.muted, C.small]},
      'Open a run to see its collapse lights, hierarchy shares, diagnosis and curves. ' +
        'Tick several runs to compare them side by side.',
    ),
  );
}
