// The "Collapse lights" view: a grid of levels x collapse metrics (several runs side by
// side in each cell), then every other light of the run as a table. Lights are drawn
// from their own fields (key, category, level, status, value, threshold, bands) and the
// catalogue's words; no metric is named here.

import {sparkline} from '../charts/sparkline.js';
import {describeKey} from '../lib/catalog.js';
import {C, statusClass} from '../lib/classes.js';
import {
  comparisonText,
  formatStep,
  formatValue,
  keyLabel,
  levelText,
  normaliseText,
  num,
  statusRank,
} from '../lib/format.js';
import {statusColor} from '../lib/palette.js';
import {leftHealthy} from '../lib/timeline.js';
import {h, runSwatch, statusBadge} from '../page/dom.js';

/** The category whose lights form the grid (a category of the catalogue). */
const GRID_CATEGORY = 'collapse';

function thresholdLine(light) {
  const t = light.threshold;
  if (t?.op)
    return [
      h(
        'span',
        {},
        `${t.status || ''} if `,
        h('span', {class: C.mono}, comparisonText(t.op, t.bound)),
      ),
    ];
  if (Array.isArray(light.bands) && light.bands.length) {
    const b = light.bands[light.bands.length - 1];
    return [
      h('span', {}, `${b.status} if `, h('span', {class: C.mono}, comparisonText(b.op, b.bound))),
    ];
  }
  return [];
}

/** One traffic light (a metric at one level of one run). */
export function lightView(
  light,
  {dim = null, runName = null, runColor = null, showRun = false, left = null} = {},
) {
  const status = light.status || 'unknown';
  const value = num(light.value);
  const judged = num(light.judged_value);
  const rule = normaliseText(light.normalise, dim);
  const win = light.window;
  const bandsList = h('ul', {class: C.bandsList});
  for (const b of Array.isArray(light.bands) ? light.bands : []) {
    bandsList.appendChild(
      h(
        'li',
        {},
        statusBadge(b.status, {compact: true}),
        ' ',
        h('span', {class: C.mono}, comparisonText(b.op, b.bound)),
        ' — ',
        b.text || '',
        b.source ? h('span', {class: C.muted}, ` (${b.source})`) : null,
      ),
    );
  }
  if (light.healthy_text)
    bandsList.appendChild(
      h('li', {}, statusBadge('healthy', {compact: true}), ' ', light.healthy_text),
    );
  const notes = (Array.isArray(light.notes) ? light.notes : []).map((n) =>
    h('p', {class: C.small}, typeof n === 'string' ? n : n?.text || ''),
  );
  const corr = light.correction;
  return h(
    'div',
    {
      class: [C.light, statusClass(status)],
      tabindex: '0',
      dataset: {
        status,
        key: light.key || '',
        level: light.level === null || light.level === undefined ? '' : light.level,
        run: runName || '',
      },
      'aria-label': `${runName ? `${runName}, ` : ''}${keyLabel(light.key)} ${levelText(light.level)}: ${status}`,
    },
    showRun && runName
      ? h('div', {class: C.lightRun}, runSwatch(runColor || '#888'), h('span', {}, runName))
      : null,
    h(
      'div',
      {class: C.lightTop},
      statusBadge(status),
      sparkline(light.sparkline, {
        color: statusColor(status),
        label: `recent ${keyLabel(light.key)}`,
        width: showRun ? 72 : 112,
      }),
    ),
    h(
      'div',
      {class: C.lightValue},
      h('span', {class: C.lightNumber}, formatValue(value)),
      judged !== null && light.normalise && light.normalise !== 'none'
        ? h('span', {class: C.muted}, ` → judged ${formatValue(judged, 3)}`)
        : null,
    ),
    h(
      'div',
      {class: C.lightRule},
      ...thresholdLine(light),
      rule && !showRun ? h('div', {class: C.muted}, rule) : null,
    ),
    status === 'unknown' && light.explanation
      ? h('div', {class: [C.small, C.muted, C.lightWhy]}, light.explanation)
      : null,
    left
      ? h(
          'div',
          {class: [C.small, C.leftHealthyNote], dataset: {step: left.step, status: left.status}},
          `left healthy at step ${formatStep(left.step)} (${left.status})`,
        )
      : null,
    h(
      'details',
      {class: C.details},
      h('summary', {}, 'why'),
      rule && showRun ? h('p', {}, rule) : null,
      win && win.start_step !== undefined
        ? h(
            'p',
            {class: C.muted},
            `Value: ${win.statistic || 'window'} over steps ${formatStep(win.start_step)}–${formatStep(win.end_step)} (${win.points} points${win.non_finite ? `, ${win.non_finite} non-finite` : ''}).`,
          )
        : null,
      light.explanation && status !== 'unknown' ? h('p', {}, light.explanation) : null,
      bandsList,
      ...notes,
      corr
        ? h(
            'p',
            {class: C.small},
            h('strong', {}, 'Corrected rule: '),
            corr.rule || '',
            h('br'),
            h(
              'span',
              {class: C.muted},
              `Reference: ${corr.reference_says || ''}. Why: ${corr.why || ''}`,
            ),
          )
        : null,
      light.tag ? h('p', {class: [C.small, C.mono]}, light.tag) : null,
    ),
  );
}

function sameLevel(a, b) {
  return (a === null || a === undefined ? null : a) === (b === null || b === undefined ? null : b);
}

function gridView(items, keys, levels, multi) {
  const grid = h('div', {
    class: C.lightGrid,
    role: 'table',
    'aria-label': 'levels by collapse metric',
  });
  grid.style.gridTemplateColumns = `4.5em repeat(${keys.length}, minmax(${multi ? 10 * items.length : 13}em, 1fr))`;
  grid.appendChild(h('div', {class: C.gridCorner, role: 'columnheader'}, 'level'));
  for (const key of keys) {
    const sample = items
      .map((it) => (it.health.lights || []).find((l) => l.key === key))
      .find(Boolean);
    grid.appendChild(
      h(
        'div',
        {class: C.gridColhead, role: 'columnheader'},
        h('div', {class: C.gridColname}, keyLabel(key)),
        h(
          'div',
          {class: [C.small, C.muted]},
          sample?.normalise && sample.normalise !== 'none'
            ? normaliseText(sample.normalise)
            : 'absolute',
        ),
      ),
    );
  }
  for (const level of levels) {
    grid.appendChild(
      h('div', {class: C.gridRowhead, role: 'rowheader'}, level === null ? 'all' : `L${level}`),
    );
    for (const key of keys) {
      const cell = h('div', {class: [C.lightCell, multi && C.lightCellMulti], role: 'cell'});
      for (const it of items) {
        const light = (it.health.lights || []).find(
          (l) => l.key === key && sameLevel(l.level, level),
        );
        if (light) {
          cell.appendChild(
            lightView(light, {
              dim: it.health.embed_dim,
              runName: it.run,
              runColor: it.color,
              showRun: multi,
              left: leftHealthy(it.health, key, level),
            }),
          );
        } else {
          cell.appendChild(
            h(
              'div',
              {class: [C.light, C.lightAbsent, C.muted]},
              multi ? `${it.run}: ` : '',
              'not logged',
            ),
          );
        }
      }
      grid.appendChild(cell);
    }
  }
  return h('div', {class: C.gridScroll}, grid);
}

function othersTable(others, items, catalog, multi, order) {
  others.sort(
    (a, b) =>
      statusRank(b.l.status, order) - statusRank(a.l.status, order) ||
      String(a.l.tag || a.l.key).localeCompare(String(b.l.tag || b.l.key)) ||
      items.indexOf(a.it) - items.indexOf(b.it),
  );
  const body = h('tbody');
  for (const {it, l} of others) {
    const about = describeKey(catalog, l.key);
    const level = l.level === null || l.level === undefined ? '' : ` · L${l.level}`;
    body.appendChild(
      h(
        'tr',
        {dataset: {status: l.status || 'unknown', key: l.key || '', level: l.level ?? ''}},
        multi ? h('td', {class: C.nowrap}, runSwatch(it.color), ' ', it.run) : null,
        h('td', {}, statusBadge(l.status, {compact: true})),
        h(
          'td',
          {},
          h('span', {class: C.mono}, `${l.tag || l.key || ''}${l.tag ? '' : level}`),
          about.meaning ? h('div', {class: [C.small, C.muted]}, about.meaning) : null,
        ),
        h(
          'td',
          {class: C.num},
          formatValue(l.value),
          about.unit && num(l.value) !== null
            ? h('span', {class: [C.small, C.muted]}, ` ${about.unit}`)
            : null,
          l.window?.statistic && l.window.statistic !== 'recent'
            ? h('div', {class: [C.small, C.muted]}, l.window.statistic)
            : null,
        ),
        h('td', {}, ...thresholdLine(l)),
        h('td', {class: C.small}, l.explanation || ''),
      ),
    );
  }
  return h(
    'div',
    {class: C.card},
    h(
      'table',
      {class: [C.table, C.tableCompact]},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          multi ? h('th', {}, 'Run') : null,
          h('th', {}, 'Status'),
          h('th', {}, 'Metric'),
          h('th', {class: C.num}, 'Value'),
          h('th', {}, 'Threshold'),
          h('th', {}, 'Explanation'),
        ),
      ),
      body,
    ),
  );
}

/**
 * @param {import('./views.js').ViewEnv} env
 * @returns {HTMLElement}
 */
export function buildLights({items, catalog, statusOrder}) {
  const keys = [];
  const levels = [];
  const others = [];
  for (const it of items) {
    for (const l of it.health.lights || []) {
      if (l.category === GRID_CATEGORY) {
        if (!keys.includes(l.key)) keys.push(l.key);
        const lv = l.level === undefined ? null : l.level;
        if (!levels.includes(lv)) levels.push(lv);
      } else {
        others.push({it, l});
      }
    }
  }
  levels.sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
  const multi = items.length > 1;
  const section = h('section', {class: C.section, 'aria-label': 'collapse traffic lights'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Collapse traffic lights'));
  if (!keys.length)
    section.appendChild(
      h(
        'p',
        {class: [C.card, C.muted]},
        'No collapse metric has a verdict for the selected run(s).',
      ),
    );
  else section.appendChild(gridView(items, keys, levels, multi));
  if (others.length) {
    section.appendChild(h('h3', {class: C.subtitle}, 'Other checks'));
    section.appendChild(othersTable(others, items, catalog, multi, statusOrder));
  }
  return section;
}
