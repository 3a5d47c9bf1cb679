// A small static line of a light's recent history (no listeners, nothing to destroy).

import {C} from '../lib/classes.js';
import {num} from '../lib/format.js';
import {svg} from '../page/dom.js';

/**
 * @param {Array<[number, *]>} points `[step, value]`, value null where unknown
 * @param {{width?: number, height?: number, color?: string, label?: string}} [o]
 * @returns {SVGElement}
 */
export function sparkline(points, o = {}) {
  const width = o.width || 112;
  const height = o.height || 28;
  const el = svg('svg', {
    class: C.sparkline,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': o.label || 'recent history',
  });
  const pts = (points || [])
    .map((p) => [num(p[0]), num(p[1])])
    .filter((p) => p[0] !== null && p[1] !== null);
  const finite = pts.filter((p) => Number.isFinite(p[1]));
  if (finite.length < 2) {
    const t = svg('text', {x: 2, y: height / 2 + 3, class: C.chartNoData});
    t.textContent = finite.length ? '1 point' : 'no data';
    el.appendChild(t);
    return el;
  }
  const x0 = pts[0][0];
  let x1 = pts[pts.length - 1][0];
  if (x0 === x1) x1 = x0 + 1;
  let y0 = Math.min(...finite.map((p) => p[1]));
  let y1 = Math.max(...finite.map((p) => p[1]));
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  const sx = (x) => 2 + ((x - x0) / (x1 - x0)) * (width - 6);
  const sy = (y) => 3 + (1 - (y - y0) / (y1 - y0)) * (height - 6);
  let d = '';
  let pen = false;
  for (const [x, y] of pts) {
    if (!Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`;
    pen = true;
  }
  el.appendChild(svg('path', {d, stroke: o.color || '#5f6368', class: C.sparkLine}));
  const last = finite[finite.length - 1];
  el.appendChild(
    svg('circle', {cx: sx(last[0]), cy: sy(last[1]), r: 2.2, fill: o.color || '#5f6368'}),
  );
  return el;
}
