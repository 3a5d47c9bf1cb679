// Threshold bands of a chart: the catalogue rule of a metric turned into data-unit
// ranges of the curve. No DOM here: the node tests import every function.
//
// Every bound comes from the catalogue (the `catalog` route) and, for dimension-
// relative rules, from the run's lights (their value / judged_value ratio): nothing is
// spelled here.

import {normaliseText, num, resolveBound} from './format.js';

/** Statistics judged on the curve's own values, so a band on the curve means something. */
const ON_CURVE = ['recent', 'recent_max', 'first', 'at_start'];

/**
 * @typedef {{status: string, lo: number, hi: number}} Band  a data-unit range
 */

/**
 * Data-unit threshold bands of a catalogue rule.
 * @param {object|null} metric catalogue record (with `rule`)
 * @param {Array<object>} lights the lights of this tag, one per run (for the raw/judged
 *   ratio of dimension-relative rules)
 * @param {number|null} dim embedding dimension when every run agrees on it
 * @returns {{bands: Band[], note: string, factor: number}}
 */
export function bandsForTag(metric, lights, dim) {
  const rule = metric && metric.rule;
  if (!rule || !Array.isArray(rule.bands) || !rule.bands.length) return {bands: [], note: '', factor: 1};
  if (rule.statistic && !ON_CURVE.includes(rule.statistic)) {
    return {bands: [], note: `verdict on the ${rule.statistic} statistic (no band on the curve)`, factor: 1};
  }
  let factor = 1;
  let note = '';
  if (rule.normalise && rule.normalise !== 'none') {
    const ratios = (lights || []).map((l) => num(l.value) / num(l.judged_value)).filter((x) => Number.isFinite(x) && x > 0);
    const same = ratios.length && ratios.every((x) => Math.abs(x / ratios[0] - 1) < 1e-3);
    if (!same) return {bands: [], note: `bands are dimension-relative (${normaliseText(rule.normalise)}); not drawn here`, factor: 1};
    factor = ratios[0];
    note = `bands drawn in raw units (${normaliseText(rule.normalise, dim)})`;
  }
  const out = [];
  for (const b of rule.bands) {
    const bound = b.bound;
    let lo = -Infinity;
    let hi = Infinity;
    if (b.op === '<' || b.op === '<=') hi = resolveBound(bound, dim) * factor;
    else if (b.op === '>' || b.op === '>=') lo = resolveBound(bound, dim) * factor;
    else if (b.op === 'inside' && Array.isArray(bound)) {
      lo = num(bound[0]) * factor;
      hi = num(bound[1]) * factor;
    } else if (b.op === 'outside' && Array.isArray(bound)) {
      out.push({status: b.status, lo: -Infinity, hi: num(bound[0]) * factor});
      out.push({status: b.status, lo: num(bound[1]) * factor, hi: Infinity});
      continue;
    } else continue;
    out.push({status: b.status, lo, hi});
  }
  return {bands: subtractEarlier(out), note, factor};
}

/**
 * Bands are tried in order (the catalogue lists the most severe first): a later band
 * only covers what earlier ones leave.
 * @param {Band[]} bands
 * @returns {Band[]}
 */
export function subtractEarlier(bands) {
  const result = [];
  const taken = [];
  for (const b of bands) {
    let pieces = [[b.lo, b.hi]];
    for (const [tl, th] of taken) {
      const next = [];
      for (const [l, hgh] of pieces) {
        if (th <= l || tl >= hgh) next.push([l, hgh]);
        else {
          if (tl > l) next.push([l, tl]);
          if (th < hgh) next.push([th, hgh]);
        }
      }
      pieces = next;
    }
    for (const [l, hgh] of pieces) if (hgh > l) result.push({status: b.status, lo: l, hi: hgh});
    taken.push([b.lo, b.hi]);
  }
  return result;
}

/**
 * Pull a band edge into view when it lies within one data span of the curve, so the
 * user sees how close a curve runs to its bound.
 * @param {number} y0 lowest value drawn
 * @param {number} y1 highest value drawn
 * @param {Band[]} bands
 * @param {boolean} log log axis (spans in decades; non-positive edges ignored)
 * @returns {[number, number]}
 */
export function includeNearEdges(y0, y1, bands, log) {
  let lo = y0;
  let hi = y1;
  for (const b of bands || []) {
    for (const e of [b.lo, b.hi]) {
      if (!Number.isFinite(e) || (log && e <= 0)) continue;
      const span = log ? Math.log10(y1 / y0) || 0.3 : (y1 - y0) || Math.abs(y1) * 0.1 || 1;
      const dist = log ? (e < y0 ? Math.log10(y0 / e) : Math.log10(e / y1)) : (e < y0 ? y0 - e : e - y1);
      if (dist > 0 && dist <= span) {
        if (e < lo) lo = e;
        else if (e > hi) hi = e;
      }
    }
  }
  return [lo, hi];
}
