// The "Diagnosis" view: per selected run, the reference's flowchart with the firing
// branches open, the common patterns, and the expected ranges by training progress.

import {C} from '../lib/classes.js';
import {formatPercent, formatValue} from '../lib/format.js';
import {h, runSwatch, statusBadge, tagText} from '../page/dom.js';
import {checkList} from './checks.js';

/** The §11 flowchart as a tree; firing branches highlighted and open. */
function flowchartView(health) {
  const branches = Array.isArray(health.flowchart) ? health.flowchart : [];
  const firedCount = branches.filter((b) => b.fired).length;
  const tree = h('ul', {class: C.flow, role: 'tree', 'aria-label': 'diagnostic flowchart'});
  for (const b of branches) {
    const state = b.applicable === false ? 'na' : b.fired ? 'fired' : 'quiet';
    const pill =
      state === 'fired'
        ? statusBadge('critical', {label: 'fires'})
        : state === 'na'
          ? statusBadge('unknown', {label: 'not applicable'})
          : statusBadge('healthy', {label: 'does not fire'});
    const body = h(
      'div',
      {class: C.flowBody},
      checkList('Triggered by', b.triggers),
      checkList('Checks', b.checks),
      Array.isArray(b.actions) && b.actions.length
        ? h(
            'div',
            {class: C.checkGroup},
            h('div', {class: C.checkTitle}, b.fired ? 'Actions' : 'Actions (if it fires)'),
            h(
              'ul',
              {class: C.actions},
              b.actions.map((a) => h('li', {}, a)),
            ),
          )
        : null,
      b.correction
        ? h(
            'p',
            {class: [C.small, C.muted]},
            `Project rule: ${b.correction.rule || ''} — ${b.correction.why || ''}`,
          )
        : null,
    );
    const details = h(
      'details',
      {class: C.flowDetails},
      h(
        'summary',
        {class: C.flowHead},
        pill,
        h('span', {class: C.flowQuestion}, b.question || b.id),
      ),
      body,
    );
    if (state === 'fired') details.open = true;
    tree.appendChild(
      h(
        'li',
        {
          class: [
            C.flowBranch,
            state === 'fired' ? C.flowFired : state === 'na' ? C.flowNA : C.flowQuiet,
          ],
          role: 'treeitem',
          dataset: {branch: b.id || '', fired: String(!!b.fired)},
        },
        details,
      ),
    );
  }
  return h(
    'div',
    {class: C.card},
    h(
      'div',
      {class: C.cardTitle},
      h('span', {}, 'Diagnostic flowchart'),
      h('span', {class: C.barSpacer}),
      h(
        'span',
        {class: C.muted},
        firedCount ? `${firedCount} branch${firedCount > 1 ? 'es' : ''} firing` : 'no branch fires',
      ),
    ),
    h('div', {class: C.flowRoot}, 'Training issue detected?'),
    tree,
  );
}

function patternsView(health) {
  const patterns = (Array.isArray(health.patterns) ? health.patterns : [])
    .slice()
    .sort((a, b) => Number(!!b.detected) - Number(!!a.detected));
  const list = h('div', {class: C.patterns});
  for (const p of patterns) {
    const det = h(
      'details',
      {
        class: [C.pattern, p.detected && C.patternDetected],
        dataset: {pattern: p.id || '', detected: String(!!p.detected)},
      },
      h(
        'summary',
        {},
        p.detected
          ? statusBadge('warning', {label: 'detected'})
          : statusBadge('healthy', {label: 'not seen'}),
        h('span', {class: C.patternName}, p.name || p.id),
      ),
      h(
        'dl',
        {class: C.kv},
        h('dt', {}, 'Likely cause'),
        h('dd', {}, p.likely_cause || '—'),
        h('dt', {}, 'Fix'),
        h('dd', {}, p.fix || '—'),
      ),
      checkList('Symptoms', p.symptoms),
      checkList('Evidence', p.evidence),
    );
    if (p.detected) det.open = true;
    list.appendChild(det);
  }
  const n = patterns.filter((p) => p.detected).length;
  return h(
    'div',
    {class: C.card},
    h(
      'div',
      {class: C.cardTitle},
      h('span', {}, 'Common patterns'),
      h('span', {class: C.barSpacer}),
      h('span', {class: C.muted}, n ? `${n} detected` : 'none detected'),
    ),
    list,
  );
}

function rangesView(health) {
  const r = health.ranges;
  const card = h(
    'div',
    {class: C.card},
    h('div', {class: C.cardTitle}, h('span', {}, 'Expected ranges by training progress')),
  );
  if (!r || !Array.isArray(r.checks)) {
    card.appendChild(h('p', {class: C.muted}, 'No range checks.'));
    return card;
  }
  card.appendChild(
    h(
      'p',
      {class: [C.small, C.muted]},
      `Progress ${formatPercent(r.progress)}; compared with the reference's ranges at ${formatPercent(r.checkpoint)} of training.`,
      r.note ? ` ${r.note}` : '',
    ),
  );
  const body = h('tbody');
  for (const c of r.checks) {
    const res =
      c.comparable === false
        ? statusBadge('unknown', {label: 'not comparable'})
        : c.in_range === true
          ? statusBadge('healthy', {label: 'in range'})
          : c.in_range === false
            ? statusBadge('warning', {label: 'out of range'})
            : statusBadge('unknown', {label: 'no data'});
    body.appendChild(
      h(
        'tr',
        {dataset: {key: c.key || '', inRange: String(c.in_range)}},
        h('td', {}, tagText(c.tag || c.key || '')),
        h('td', {class: C.num}, c.level === null || c.level === undefined ? '—' : String(c.level)),
        h('td', {class: C.num}, `${formatValue(c.low)} – ${formatValue(c.high)}`),
        h('td', {class: C.num}, formatValue(c.value)),
        h('td', {}, res, c.note ? h('div', {class: [C.small, C.muted]}, c.note) : null),
      ),
    );
  }
  card.appendChild(
    h(
      'table',
      {class: [C.table, C.tableCompact, C.ranges]},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Metric'),
          h('th', {class: C.num}, 'Level'),
          h('th', {class: C.num}, 'Expected'),
          h('th', {class: C.num}, 'Value'),
          h('th', {}, 'Result'),
        ),
      ),
      body,
    ),
  );
  return card;
}

/**
 * @param {import('./views.js').ViewEnv} env
 * @returns {HTMLElement}
 */
export function buildDiagnosis({items}) {
  const section = h('section', {class: C.section, 'aria-label': 'diagnosis'});
  section.appendChild(h('h2', {class: C.sectionTitle}, 'Diagnosis'));
  for (const it of items) {
    const wrap = h('div', {class: C.diagRun, dataset: {run: it.run}});
    if (items.length > 1)
      wrap.appendChild(
        h(
          'h3',
          {class: C.subtitle},
          runSwatch(it.color),
          ' ',
          it.run,
          ' ',
          statusBadge(it.health.status),
        ),
      );
    wrap.appendChild(
      h(
        'div',
        {class: C.diagGrid},
        flowchartView(it.health),
        h('div', {class: C.diagSide}, patternsView(it.health)),
      ),
    );
    wrap.appendChild(rangesView(it.health));
    section.appendChild(wrap);
  }
  return section;
}
