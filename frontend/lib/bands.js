// Threshold bands of a chart: each run's light of the curve, as the health answer gives
// it (its bands already resolved for that run: D, N, training progress), turned into
// data-unit ranges of the curve. No bound is computed here. No DOM here: the node tests
// import every function.

import {normaliseText, num} from './format.js';

/** Statistics judged on the curve's own values, so a band on the curve means something. */
const ON_CURVE = ['recent', 'recent_max', 'first', 'at_start'];

/**
 * @typedef {{status: string, lo: number, hi: number}} Band  a data-unit range
 * @typedef {{status: string, op: string, bound: (number|number[]), raw: (number|number[])}} LegendBand
 *   a light's band as judged (`bound`) and in the curve's units (`raw`)
 */

/** A light's bands in the curve's units; null when the light gives no raw/judged ratio. */
function rawBands(light) {
  let factor = 1;
  if (light.normalise && light.normalise !== 'none') {
    factor = num(light.value) / num(light.judged_value);
    if (!Number.isFinite(factor) || factor <= 0) return null;
  }
  const scale = (b) => (Array.isArray(b) ? b.map((x) => num(x) * factor) : num(b) * factor);
  return {
    factor,
    bands: light.bands.map((b) => ({
      status: b.status,
      op: b.op,
      bound: b.bound,
      raw: scale(b.bound),
    })),
  };
}

function sameBands(a, b) {
  const close = (x, y) =>
    Array.isArray(x)
      ? x.every((v, i) => close(v, y[i]))
      : Math.abs(x - y) <= 1e-3 * Math.max(Math.abs(x), Math.abs(y));
  return (
    a.length === b.length &&
    a.every((x, i) => x.status === b[i].status && x.op === b[i].op && close(x.raw, b[i].raw))
  );
}

/**
 * Data-unit threshold bands of a tag, from its lights (one per run).
 * @param {object|null} metric catalogue record (for the statistic the rule judges)
 * @param {Array<object>} lights the lights of this tag, one per run
 * @param {number|null} dim embedding dimension when every run agrees on it (for the note)
 * @returns {{bands: Band[], legend: LegendBand[], note: string, factor: number}}
 */
export function bandsForTag(metric, lights, dim) {
  const none = (note = '') => ({bands: [], legend: [], note, factor: 1});
  const rule = metric?.rule;
  if (rule?.statistic && !ON_CURVE.includes(rule.statistic)) {
    return none(`verdict on the ${rule.statistic} statistic (no band on the curve)`);
  }
  const judged = (lights || []).filter((l) => l && Array.isArray(l.bands) && l.bands.length);
  if (!judged.length) return none();
  const normalise =
    judged[0].normalise && judged[0].normalise !== 'none' ? judged[0].normalise : null;
  const perRun = judged.map(rawBands);
  if (perRun.some((x) => x === null))
    return none(`bands are dimension-relative (${normaliseText(normalise)}); not drawn here`);
  if (!perRun.every((x) => sameBands(x.bands, perRun[0].bands))) {
    return none(
      normalise
        ? `bands are dimension-relative (${normaliseText(normalise)}) and differ between the runs; not drawn here`
        : "the runs' bounds differ (they follow each run's progress or size); not drawn here",
    );
  }
  const {factor, bands: legend} = perRun[0];
  const out = [];
  for (const b of legend) {
    if (b.op === '<' || b.op === '<=') out.push({status: b.status, lo: -Infinity, hi: b.raw});
    else if (b.op === '>' || b.op === '>=') out.push({status: b.status, lo: b.raw, hi: Infinity});
    else if (b.op === 'inside' && Array.isArray(b.raw))
      out.push({status: b.status, lo: b.raw[0], hi: b.raw[1]});
    else if (b.op === 'outside' && Array.isArray(b.raw)) {
      out.push({status: b.status, lo: -Infinity, hi: b.raw[0]});
      out.push({status: b.status, lo: b.raw[1], hi: Infinity});
    }
  }
  return {
    bands: subtractEarlier(out),
    legend,
    note: normalise ? `bands drawn in raw units (${normaliseText(normalise, dim)})` : '',
    factor,
  };
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
      const span = log ? Math.log10(y1 / y0) || 0.3 : y1 - y0 || Math.abs(y1) * 0.1 || 1;
      const dist = log
        ? e < y0
          ? Math.log10(y0 / e)
          : Math.log10(e / y1)
        : e < y0
          ? y0 - e
          : e - y1;
      if (dist > 0 && dist <= span) {
        if (e < lo) lo = e;
        else if (e > hi) hi = e;
      }
    }
  }
  return [lo, hi];
}
