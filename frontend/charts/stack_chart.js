// Stacked area of each level's share of the weighted loss, with the expected shares of
// the configured weights as dashed reference lines at the cumulative boundaries.

import {C} from '../lib/classes.js';
import {formatValue, niceTicks, num} from '../lib/format.js';
import {nearestIndex} from '../lib/series.js';
import {svg} from '../page/dom.js';
import {createFrame, drawNoData, drawXAxis, drawYAxis, MARGIN} from './chart_frame.js';

/**
 * @param {HTMLElement} container
 * @param {{levels: number[], steps: number[], shares: number[][], expected: (number[]|null),
 *   colors: string[], label?: string, height?: number}} options
 * @returns {{el: HTMLElement, update: () => void, destroy: () => void}}
 */
export function createStackChart(container, options) {
  const opts = Object.assign({height: 220}, options);
  const steps = Float64Array.from((opts.steps || []).map((s) => num(s) ?? NaN));
  const shares = (opts.shares || []).map((row) => (row || []).map((v) => num(v) ?? NaN));
  const levels = opts.levels || [];
  const expected =
    Array.isArray(opts.expected) && opts.expected.length === shares.length
      ? opts.expected.map((e) => num(e) || 0)
      : null;
  const rows = shares.map((_, li) => ({
    name: `level ${levels[li]}`,
    color: opts.colors[li % opts.colors.length],
    text: '',
    step: 0,
    y: null,
  }));
  let geom = null;

  function draw(layer, width, height) {
    if (!steps.length || !shares.length) {
      drawNoData(layer, width, height, 'no level losses logged');
      geom = null;
      return null;
    }
    let x0 = steps[0];
    let x1 = steps[steps.length - 1];
    if (x0 === x1) {
      x0 -= 1;
      x1 += 1;
    }
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const plotW = width - MARGIN.left - MARGIN.right;
    const sx = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
    const sxInv = (px) => x0 + ((px - MARGIN.left) / plotW) * (x1 - x0);
    const sy = (v) => MARGIN.top + (1 - v) * plotH;
    drawYAxis(layer, [0, 0.25, 0.5, 0.75, 1], sy, width, (t) => `${Math.round(t * 100)}%`);
    drawXAxis(
      layer,
      x0,
      x1,
      sx,
      height,
      niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t) || x1 - x0 < 5),
    );
    const below = new Float64Array(steps.length);
    const g = svg('g', {class: C.stackAreas});
    shares.forEach((row, li) => {
      const top = Float64Array.from(
        steps,
        (_, i) => below[i] + (Number.isFinite(row[i]) ? row[i] : 0),
      );
      const parts = [];
      for (let i = 0; i < steps.length; i++)
        parts.push(
          `${i ? 'L' : 'M'}${sx(steps[i]).toFixed(1)} ${sy(Math.min(1, top[i])).toFixed(1)}`,
        );
      for (let i = steps.length - 1; i >= 0; i--)
        parts.push(`L${sx(steps[i]).toFixed(1)} ${sy(Math.min(1, below[i])).toFixed(1)}`);
      const path = svg('path', {
        d: `${parts.join('')}Z`,
        fill: opts.colors[li % opts.colors.length],
        class: C.stackArea,
      });
      const title = svg('title');
      title.textContent = `level ${levels[li]}`;
      path.appendChild(title);
      g.appendChild(path);
      below.set(top);
    });
    layer.appendChild(g);
    if (expected) {
      const ref = svg('g', {class: C.stackRef});
      let cum = 0;
      expected.forEach((e, li) => {
        cum += e;
        if (li === expected.length - 1) return;
        const y = sy(Math.min(1, cum));
        ref.appendChild(
          svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: C.refLine}),
        );
        const t = svg('text', {
          x: width - MARGIN.right - 4,
          y: y - 4,
          'text-anchor': 'end',
          class: C.refLabel,
        });
        t.textContent = `expected top of level ${levels[li]}: ${Math.round(cum * 100)}%`;
        ref.appendChild(t);
      });
      layer.appendChild(ref);
    }
    // The tooltip lists the finest level last (rows reversed: top of the stack first).
    geom = {sx, sxInv, sy, rows: rows.slice().reverse()};
    return geom;
  }

  function describe(step, out) {
    const i = nearestIndex(steps, step);
    let cum = 0;
    for (let li = 0; li < shares.length; li++) {
      const v = shares[li][i];
      cum += Number.isFinite(v) ? v : 0;
      const r = rows[li];
      const exp = expected ? ` (expected ${formatValue(expected[li] * 100, 3)}%)` : '';
      r.text = `${Number.isFinite(v) ? `${formatValue(v * 100, 3)}%` : '—'}${exp}`;
      r.step = steps[i];
      r.y = geom ? geom.sy(Math.min(1, cum)) : null;
    }
    void out; // `out` holds the same row objects, reversed
  }

  const frame = createFrame(container, {
    height: opts.height,
    label: opts.label || 'level shares of the loss',
    draw,
    steps: () => steps,
    describe,
  });
  frame.render();
  return {el: frame.wrap, update() {}, destroy: () => frame.destroy()};
}
