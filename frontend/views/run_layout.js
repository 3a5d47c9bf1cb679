// The page of open runs: a sidebar of every run (tick to overlay), the run headers,
// the view tabs (drawn from the VIEWS list) and the view's content.

import {C} from '../lib/classes.js';
import {h, runSwatch, statusIcon} from '../page/dom.js';
import {runHeads} from './run_header.js';
import {VIEWS} from './views.js';

/** View tabs; the arrow keys move between them. */
function viewTabs(active, onView) {
  const tabs = h('div', {class: C.tabs, role: 'tablist', 'aria-label': 'views'});
  for (const v of VIEWS) {
    tabs.appendChild(
      h(
        'button',
        {
          class: [C.tab, v.id === active && C.tabActive],
          type: 'button',
          role: 'tab',
          'aria-selected': String(v.id === active),
          dataset: {view: v.id},
          on: {
            click: () => onView(v.id),
            keydown: (ev) => {
              const all = Array.from(tabs.querySelectorAll('button'));
              const i = all.indexOf(ev.currentTarget);
              if (ev.key === 'ArrowRight' && all[i + 1]) all[i + 1].focus();
              if (ev.key === 'ArrowLeft' && all[i - 1]) all[i - 1].focus();
            },
          },
        },
        v.label,
      ),
    );
  }
  return tabs;
}

/**
 * @param {Object} p
 * @param {Array<object>} p.runs rows of the `runs` route
 * @param {string[]} p.selected open runs
 * @param {(run: string) => string} p.color
 * @param {import('./views.js').RunItem[]} p.items open runs with their verdicts
 * @param {string} p.view active view id
 * @param {(run: string, on: boolean) => boolean} p.onToggleRun false refuses (last run)
 * @param {(id: string) => void} p.onView
 * @param {Array<Node|null>} content
 * @returns {HTMLElement}
 */
export function runLayout({runs, selected, color, items, view, onToggleRun, onView}, content) {
  const side = h(
    'nav',
    {class: C.sidebar, 'aria-label': 'runs'},
    h('div', {class: C.sidebarTitle}, 'Runs'),
  );
  for (const r of runs) {
    const on = selected.includes(r.run);
    const box = h('input', {
      type: 'checkbox',
      on: {
        change: (ev) => {
          if (!onToggleRun(r.run, ev.target.checked)) ev.target.checked = true;
        },
      },
    });
    box.checked = on;
    side.appendChild(
      h(
        'label',
        {class: [C.sideRun, on && C.sideRunOn], dataset: {run: r.run}},
        box,
        runSwatch(color(r.run)),
        h('span', {class: C.sideName, title: r.run}, r.run),
        h('span', {class: C.srOnly}, r.status || 'unknown'),
        statusIcon(r.status || 'unknown'),
      ),
    );
  }
  return h(
    'div',
    {class: C.layout},
    side,
    h(
      'div',
      {class: C.content},
      runHeads(items),
      viewTabs(view, onView),
      h('div', {class: C.view, dataset: {view}}, content),
    ),
  );
}
