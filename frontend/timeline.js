// The verdict through a run (the health answer's `timeline`): a strip of status colours
// over steps, in the run header above the views, with the sentence that says when the
// run left healthy and from what; and, per chart, the step at which its light first
// left healthy. The sentence carries the meaning; the colours only show it at a glance.

import {C, statusClass} from './classes.js';
import {h} from './dom.js';
import {formatStep} from './format.js';

/**
 * Consecutive points of one status merged: [{from, start, to, status}]. `start` and `to`
 * are the stretch's first and last judged steps; `from` is where it is drawn from (the
 * previous point's step), so the stretches tile the run.
 */
export function stretches(points) {
  const out = [];
  let prev = null;
  for (const p of points) {
    if (!p || !Number.isFinite(p.step)) continue;
    const last = out[out.length - 1];
    if (last && last.status === p.status) last.to = p.step;
    else out.push({from: prev === null ? p.step : prev, start: p.step, to: p.step, status: String(p.status || 'unknown')});
    prev = p.step;
  }
  return out;
}

/**
 * The strip and its sentence, or null when the answer has no timeline.
 * @param {object} health
 * @returns {HTMLElement|null}
 */
export function timelineStrip(health) {
  const tl = health && health.timeline;
  if (!tl || !Array.isArray(tl.points) || !tl.points.length) return null;
  const parts = stretches(tl.points);
  const first = parts[0].from;
  const span = Math.max(1, parts[parts.length - 1].to - first);
  const bar = h('div', {class: C.timelineBar, role: 'img', 'aria-label': `health through the run: ${tl.summary || ''}`});
  for (const s of parts) {
    const seg = h('div', {class: [C.timelineSegment, statusClass(s.status)],
      dataset: {status: s.status, start: s.start, to: s.to},
      title: s.start === s.to ? `step ${formatStep(s.start)}: ${s.status}`
        : `steps ${formatStep(s.start)}–${formatStep(s.to)}: ${s.status}`});
    seg.style.flexGrow = String(Math.max(s.to - s.from, span / 400));
    bar.appendChild(seg);
  }
  const source = tl.source === 'online checks'
    ? 'the online checks while it trained'
    : `judged at ${tl.points.length} step${tl.points.length === 1 ? '' : 's'}`;
  return h('div', {class: C.timeline, dataset: {healthyUntil: tl.healthy_until ?? '', source: tl.source || ''}},
    bar,
    h('div', {class: [C.small, C.timelineAxis]},
      h('span', {}, `step ${formatStep(first)}`), h('span', {}, `step ${formatStep(first + span)}`)),
    h('div', {class: [C.small, C.timelineSummary]},
      h('span', {class: C.muted}, `When (${source}): `), String(tl.summary || '')));
}

/**
 * The first step at which a run's light of (key, level) left healthy, or null.
 * @param {object} health
 * @param {string} key
 * @param {number|null|undefined} level
 * @returns {{step: number, status: string}|null}
 */
export function leftHealthy(health, key, level) {
  const tl = health && health.timeline;
  const lights = tl && Array.isArray(tl.lights) ? tl.lights : [];
  const want = level === undefined ? null : level;
  const hit = lights.find((x) => x && x.key === key && (x.level ?? null) === want && Number.isFinite(x.step));
  return hit ? {step: hit.step, status: String(hit.status || 'warning')} : null;
}
