// "What to do first" for a run: every flowchart branch that fires and every pattern
// that is detected, each with its first action and the evidence that fired. Read from
// the health answer's fields only (http_api.md); no DOM here.

/**
 * @typedef {Object} Todo
 * @property {'branch'|'pattern'} kind
 * @property {string} id
 * @property {string} title   the branch's question or the pattern's name
 * @property {string} action  branch.actions[0] or pattern.fix ('' when none)
 * @property {object[]} evidence check results with fired === true
 */

function fired(...lists) {
  const out = [];
  for (const list of lists)
    for (const c of Array.isArray(list) ? list : []) if (c && c.fired === true) out.push(c);
  return out;
}

/**
 * Firing branches (in flowchart order), then detected patterns (in catalogue order).
 * @param {object} health
 * @returns {Todo[]}
 */
export function whatToDo(health) {
  const out = [];
  for (const b of Array.isArray(health?.flowchart) ? health.flowchart : []) {
    if (b?.fired !== true || b.applicable === false) continue;
    out.push({
      kind: 'branch',
      id: String(b.id || ''),
      title: String(b.question || b.id || ''),
      action: Array.isArray(b.actions) && b.actions.length ? String(b.actions[0]) : '',
      evidence: fired(b.triggers, b.checks),
    });
  }
  for (const p of Array.isArray(health?.patterns) ? health.patterns : []) {
    if (p?.detected !== true) continue;
    out.push({
      kind: 'pattern',
      id: String(p.id || ''),
      title: String(p.name || p.id || ''),
      action: p.fix ? String(p.fix) : '',
      evidence: fired(p.symptoms, p.any_symptoms, p.evidence),
    });
  }
  return out;
}
