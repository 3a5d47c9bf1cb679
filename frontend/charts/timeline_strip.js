// The verdict through a run (the health answer's `timeline`): a strip of status colours
// over steps, in the run header above the views, with the sentence that says when the
// run left healthy and from what. The sentence carries the meaning; the colours only
// show it at a glance.

import {C, statusClass} from '../lib/classes.js';
import {formatStep} from '../lib/format.js';
import {stretches} from '../lib/timeline.js';
import {h} from '../page/dom.js';

/**
 * The strip and its sentence, or null when the answer has no timeline.
 * @param {object} health
 * @returns {HTMLElement|null}
 */
export function timelineStrip(health) {
  const tl = health?.timeline;
  if (!tl || !Array.isArray(tl.points) || !tl.points.length) return null;
  const parts = stretches(tl.points);
  const first = parts[0].from;
  const span = Math.max(1, parts[parts.length - 1].to - first);
  const bar = h('div', {
    class: C.timelineBar,
    role: 'img',
    'aria-label': `health through the run: ${tl.summary || ''}`,
  });
  for (const s of parts) {
    const seg = h('div', {
      class: [C.timelineSegment, statusClass(s.status)],
      dataset: {status: s.status, start: s.start, to: s.to},
      title:
        s.start === s.to
          ? `step ${formatStep(s.start)}: ${s.status}`
          : `steps ${formatStep(s.start)}–${formatStep(s.to)}: ${s.status}`,
    });
    seg.style.flexGrow = String(Math.max(s.to - s.from, span / 400));
    bar.appendChild(seg);
  }
  const source =
    tl.source === 'online checks'
      ? 'the online checks while it trained'
      : `judged at ${tl.points.length} step${tl.points.length === 1 ? '' : 's'}`;
  return h(
    'div',
    {class: C.timeline, dataset: {healthyUntil: tl.healthy_until ?? '', source: tl.source || ''}},
    bar,
    h(
      'div',
      {class: [C.small, C.timelineAxis]},
      h('span', {}, `step ${formatStep(first)}`),
      h('span', {}, `step ${formatStep(first + span)}`),
    ),
    h(
      'div',
      {class: [C.small, C.timelineSummary]},
      h('span', {class: C.muted}, `When (${source}): `),
      String(tl.summary || ''),
    ),
  );
}
