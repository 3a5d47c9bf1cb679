// The "Hierarchy" view: per run, each level's share of the weighted loss as a stack
// over steps, the expected shares of the configured weights, and the contribution
// checks (derived quantities, read generically with the catalogue's meanings).

import {createStackChart} from '../charts/stack_chart.js';
import {describeKey} from '../lib/catalog.js';
import {C} from '../lib/classes.js';
import {comparisonText, formatPercent, formatValue, keyLabel, num} from '../lib/format.js';
import {LEVEL_COLORS} from '../lib/palette.js';
import {h, runSwatch, statusBadge} from '../page/dom.js';

function checksList(checks, catalog) {
  const list = h('ul', {class: C.checks});
  for (const l of checks) {
    const about = describeKey(catalog, l.key);
    list.appendChild(
      h(
        'li',
        {class: C.check, dataset: {status: l.status || 'unknown', key: l.key || ''}},
        statusBadge(l.status, {compact: true}),
        ' ',
        h('span', {}, about.meaning || keyLabel(l.key)),
        ' ',
        h('span', {class: C.mono}, formatValue(l.value)),
        l.level !== null && l.level !== undefined
          ? h('span', {class: C.muted}, ` (level ${l.level})`)
          : null,
        l.threshold
          ? h(
              'span',
              {class: C.muted},
              ` (${l.threshold.status} if ${comparisonText(l.threshold.op, l.threshold.bound)})`,
            )
          : null,
        l.explanation ? h('div', {class: [C.small, C.muted]}, l.explanation) : null,
      ),
    );
  }
  return list;
}

function runCard(it, catalog, env) {
  const c = it.health.contributions;
  const card = h('div', {class: [C.card, C.hierCard], dataset: {run: it.run}});
  const status = c?.status ? c.status : 'unknown';
  card.appendChild(
    h(
      'div',
      {class: C.cardTitle},
      runSwatch(it.color),
      h('span', {class: C.cardRun}, it.run),
      h('span', {class: C.barSpacer}),
      h('span', {class: C.muted}, 'imbalance: '),
      statusBadge(status),
    ),
  );
  if (c?.note) card.appendChild(h('p', {class: [C.small, C.muted, C.contribNote]}, c.note));
  if (!c || !Array.isArray(c.shares) || !c.shares.length) {
    if (!c?.note)
      card.appendChild(
        h('p', {class: C.muted}, 'No per-level losses: the hierarchy contribution is unknown.'),
      );
    return card;
  }
  const levels = c.levels || c.shares.map((_, i) => i);
  const chartBox = h('div', {class: C.chartBox});
  card.appendChild(chartBox);
  const last = (arr) => (Array.isArray(arr) && arr.length ? num(arr[arr.length - 1]) : null);
  card.appendChild(
    h(
      'table',
      {class: [C.table, C.tableCompact, C.shareTable]},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Level'),
          h('th', {class: C.num}, 'Weight'),
          h('th', {class: C.num}, 'Expected share'),
          h('th', {class: C.num}, 'Latest share'),
        ),
      ),
      h(
        'tbody',
        {},
        levels.map((lv, i) =>
          h(
            'tr',
            {},
            h('td', {}, runSwatch(LEVEL_COLORS[i % LEVEL_COLORS.length]), ` level ${lv}`),
            h('td', {class: C.num}, c.weights ? formatValue(c.weights[i]) : '—'),
            h('td', {class: C.num}, c.expected ? formatPercent(c.expected[i], 1) : '—'),
            h('td', {class: C.num}, formatPercent(last(c.shares[i]), 1)),
          ),
        ),
      ),
    ),
  );
  if (!c.expected && !c.note)
    card.appendChild(
      h(
        'p',
        {class: [C.small, C.muted]},
        'Hierarchy weights unknown (no run manifest): no expected shares.',
      ),
    );
  if (c.weights_source)
    card.appendChild(h('p', {class: [C.small, C.muted]}, `Weights from ${c.weights_source}.`));
  const checks = Array.isArray(c.checks) ? c.checks : [];
  if (checks.length) card.appendChild(checksList(checks, catalog));
  env.afterMount(() =>
    env.track(
      createStackChart(chartBox, {
        levels,
        steps: c.steps,
        shares: c.shares,
        expected: c.expected,
        colors: LEVEL_COLORS,
        label: `level shares of ${it.run}`,
      }),
    ),
  );
  return card;
}

/**
 * @param {import('./views.js').ViewEnv} env
 * @returns {HTMLElement}
 */
export function buildHierarchy(env) {
  const {items, catalog} = env;
  const section = h('section', {class: C.section, 'aria-label': 'hierarchy contribution'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Hierarchy contribution'));
  section.appendChild(
    h(
      'p',
      {class: [C.muted, C.small]},
      'Share of level i = w_i·L_i / Σ_j w_j·L_j (shares sum to 100%). Dashed lines: the shares the configured hierarchy weights would give with equal level losses.',
    ),
  );
  const row = h('div', {class: [C.stack, items.length > 1 && C.stackMulti]});
  for (const it of items) row.appendChild(runCard(it, catalog, env));
  section.appendChild(row);
  return section;
}
