// Check results of the flowchart and the patterns (http_api.md, "check result"): one
// line each, with whether it fired and the evidence in words. Used by the diagnosis
// view and by the run header's "what to do first".

import {C} from '../lib/classes.js';
import {comparisonText, formatValue, normaliseText} from '../lib/format.js';
import {h, statusBadge} from '../page/dom.js';

/**
 * The evidence of a check in words: the backend's `detail` when it wrote one, else
 * "metric (level L): value op bound".
 * @param {object} chk
 */
export function checkDetail(chk) {
  if (chk.detail) return String(chk.detail);
  const where = chk.level !== null && chk.level !== undefined ? ` (level ${chk.level})` : '';
  return `${chk.metric || ''}${where}: ${formatValue(chk.value)} ${comparisonText(chk.op, chk.bound)}`;
}

/** One check result as a list item (`data-check`, `data-fired`). */
export function checkItem(chk) {
  const fired = chk.fired;
  const cls = fired === true ? C.checkFired : fired === false ? C.checkQuiet : C.checkUnknown;
  const mark = fired === true ? 'fired' : fired === false ? 'ok' : 'no data';
  const iconStatus = fired === true ? 'collapse' : fired === false ? 'healthy' : 'unknown';
  return h(
    'li',
    {class: [C.check, cls], dataset: {check: chk.id || '', fired: String(fired)}},
    statusBadge(iconStatus, {label: mark, compact: true}),
    ' ',
    h('span', {class: C.checkText}, chk.text || chk.id || ''),
    h(
      'div',
      {class: [C.small, C.muted]},
      checkDetail(chk),
      chk.statistic ? ` · ${chk.statistic}` : '',
      chk.normalise && chk.normalise !== 'none' ? ` · ${normaliseText(chk.normalise)}` : '',
    ),
  );
}

/** A titled list of check results, or null when there are none. */
export function checkList(title, checks) {
  if (!Array.isArray(checks) || !checks.length) return null;
  return h(
    'div',
    {class: C.checkGroup},
    h('div', {class: C.checkTitle}, title),
    h(
      'ul',
      {class: C.checks},
      checks.map((c) => checkItem(c)),
    ),
  );
}
