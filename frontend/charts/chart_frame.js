// The frame every chart of the tab shares: sizing (ResizeObserver), a focusable SVG, a
// hover cursor with a tooltip, driven by the mouse or the arrow keys. The cursor's
// elements (line, one dot and one tooltip row per curve) are built once per draw and
// only moved on hover: a mouse move costs two binary searches per curve, no sorting and
// no new elements. The cursor lives in its own SVG layered over the plot, so moving it
// repaints that layer only, never the curves. destroy() removes every listener and
// observer it added.

import {C} from '../lib/classes.js';
import {formatStep} from '../lib/format.js';
import {nearestIndex} from '../lib/series.js';
import {svg} from '../page/dom.js';

/** Plot margins in pixels (axis labels live there). */
export const MARGIN = {left: 56, right: 14, top: 10, bottom: 26};
const TOOLTIP_WIDTH = 220;

/**
 * @typedef {Object} HoverRow  one curve's line of the tooltip (refilled on hover)
 * @property {string} name
 * @property {string} color
 * @property {string} text      value as shown
 * @property {number} step      step of the point shown
 * @property {number|null} y    pixel y of the dot, null for none
 */

/**
 * @typedef {Object} Geometry  what a draw returns
 * @property {(x: number) => number} sx     step -> pixel x
 * @property {(px: number) => number} sxInv pixel x -> step
 * @property {HoverRow[]} rows              one per curve, refilled by `describe`
 */

/**
 * @param {HTMLElement} container
 * @param {Object} o
 * @param {number} o.height
 * @param {number} [o.width] the container's width when the caller measured it
 * @param {string} o.label accessible name
 * @param {(layer: SVGGElement, width: number, height: number) => (Geometry|null)} o.draw
 * @param {() => ArrayLike<number>} o.steps ascending steps the cursor can stop at
 * @param {(step: number, rows: HoverRow[]) => void} o.describe fill the rows for a step
 */
export function createFrame(container, {height, width: measured, label, draw, steps, describe}) {
  const wrap = document.createElement('div');
  wrap.className = C.chart;
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', label || 'chart');
  const root = svg('svg', {class: C.chartSvg, height});
  const plot = svg('g', {class: C.chartPlot});
  root.appendChild(plot);
  const overlay = svg('svg', {class: C.chartOverlay, height, 'aria-hidden': 'true'});
  const cursor = svg('g', {class: C.cursor, visibility: 'hidden'});
  const cursorLine = svg('line', {y1: MARGIN.top, y2: height - MARGIN.bottom, class: C.cursorLine});
  cursor.appendChild(cursorLine);
  overlay.appendChild(cursor);
  const tooltip = document.createElement('div');
  tooltip.className = C.tooltip;
  tooltip.hidden = true;
  const tipHead = document.createElement('div');
  tipHead.className = C.tooltipHead;
  tooltip.appendChild(tipHead);
  wrap.append(root, overlay, tooltip);
  container.appendChild(wrap);

  let width = Math.max(200, Math.floor(measured || container.clientWidth || 400));
  /** @type {Geometry|null} */
  let geometry = null;
  let cursorStep = null;
  let dots = []; // SVG circles, one per row
  let tipRows = []; // {row, value} elements, one per row
  let rect = null; // the SVG's client rect, read once per hover session

  function render() {
    for (const el of [root, overlay]) {
      el.setAttribute('width', width);
      el.setAttribute('viewBox', `0 0 ${width} ${height}`);
    }
    plot.textContent = '';
    geometry = draw(plot, width, height);
    for (const d of dots) d.remove();
    for (const t of tipRows) t.line.remove();
    dots = [];
    tipRows = [];
    for (const r of geometry ? geometry.rows : []) {
      const dot = svg('circle', {r: 3.5, fill: r.color, class: C.cursorDot});
      cursor.appendChild(dot);
      dots.push(dot);
      const line = document.createElement('div');
      line.className = C.tooltipRow;
      const sw = document.createElement('span');
      sw.className = C.runSwatch;
      sw.style.background = r.color;
      const name = document.createElement('span');
      name.className = C.tooltipName;
      name.textContent = r.name;
      const value = document.createElement('span');
      value.className = C.tooltipValue;
      line.append(sw, name, value);
      tooltip.appendChild(line);
      tipRows.push({line, value});
    }
    showCursor(cursorStep);
  }

  function showCursor(step) {
    cursorStep = step;
    if (!geometry || step === null) {
      cursor.setAttribute('visibility', 'hidden');
      tooltip.hidden = true;
      return;
    }
    const rows = geometry.rows;
    describe(step, rows);
    const x = geometry.sx(step);
    cursorLine.setAttribute('x1', x);
    cursorLine.setAttribute('x2', x);
    let shown = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const dot = dots[i];
      const tip = tipRows[i];
      const visible = r.text !== '';
      tip.line.hidden = !visible;
      if (visible) {
        shown++;
        if (tip.value.textContent !== r.text) tip.value.textContent = r.text;
      }
      if (visible && r.y !== null && Number.isFinite(r.y)) {
        dot.setAttribute('cx', geometry.sx(r.step));
        dot.setAttribute('cy', r.y);
        dot.setAttribute('visibility', 'visible');
      } else {
        dot.setAttribute('visibility', 'hidden');
      }
    }
    tipHead.textContent = `step ${formatStep(step)}`;
    cursor.setAttribute('visibility', 'visible');
    tooltip.hidden = shown === 0;
    const left = x + 12 > width - TOOLTIP_WIDTH ? Math.max(0, x - TOOLTIP_WIDTH - 12) : x + 12;
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${MARGIN.top}px`;
  }

  function onEnter() {
    rect = null;
  }
  function onMove(ev) {
    if (!geometry) return;
    if (!rect) rect = root.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    if (px < MARGIN.left - 4 || px > width - MARGIN.right + 4) return;
    const all = steps();
    if (!all.length) return;
    showCursor(all[nearestIndex(all, geometry.sxInv(px))]);
  }
  function onLeave() {
    rect = null;
    if (document.activeElement === wrap) return;
    showCursor(null);
  }
  function onScroll() {
    rect = null;
  }
  function onKey(ev) {
    const all = steps();
    if (!all.length) return;
    let i = cursorStep === null ? -1 : nearestIndex(all, cursorStep);
    const jump = Math.max(1, Math.round(all.length / 20));
    if (ev.key === 'ArrowRight')
      i = Math.min(all.length - 1, i < 0 ? 0 : i + (ev.shiftKey ? jump : 1));
    else if (ev.key === 'ArrowLeft')
      i = Math.max(0, i < 0 ? all.length - 1 : i - (ev.shiftKey ? jump : 1));
    else if (ev.key === 'Home') i = 0;
    else if (ev.key === 'End') i = all.length - 1;
    else if (ev.key === 'Escape') {
      showCursor(null);
      return;
    } else return;
    ev.preventDefault();
    showCursor(all[i]);
  }
  function onBlur() {
    showCursor(null);
  }
  root.addEventListener('mouseenter', onEnter);
  root.addEventListener('mousemove', onMove);
  root.addEventListener('mouseleave', onLeave);
  wrap.addEventListener('keydown', onKey);
  wrap.addEventListener('blur', onBlur);
  window.addEventListener('scroll', onScroll, {passive: true, capture: true});

  let observer = null;
  if (typeof ResizeObserver !== 'undefined') {
    observer = new ResizeObserver(() => {
      const w = Math.max(200, Math.floor(container.clientWidth || width));
      rect = null;
      if (Math.abs(w - width) > 2) {
        width = w;
        render();
      }
    });
    observer.observe(container);
  }

  return {
    wrap,
    render,
    /** Current plot width in pixels. */
    width: () => width,
    destroy() {
      root.removeEventListener('mouseenter', onEnter);
      root.removeEventListener('mousemove', onMove);
      root.removeEventListener('mouseleave', onLeave);
      wrap.removeEventListener('keydown', onKey);
      wrap.removeEventListener('blur', onBlur);
      window.removeEventListener('scroll', onScroll, {capture: true});
      if (observer) observer.disconnect();
      wrap.remove();
    },
  };
}

/** Left y axis: grid lines and labels at `ticks`. */
export function drawYAxis(layer, ticks, sy, width, fmt) {
  const g = svg('g', {class: [C.axis, C.axisY].join(' ')});
  for (const t of ticks) {
    const y = sy(t);
    g.appendChild(
      svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: C.grid}),
    );
    const text = svg('text', {x: MARGIN.left - 6, y: y + 3.5, 'text-anchor': 'end'});
    text.textContent = fmt(t);
    g.appendChild(text);
  }
  layer.appendChild(g);
}

/** Bottom x axis of steps. */
export function drawXAxis(layer, x0, x1, sx, height, ticks) {
  const g = svg('g', {class: [C.axis, C.axisX].join(' ')});
  const y = height - MARGIN.bottom;
  g.appendChild(svg('line', {x1: sx(x0), x2: sx(x1), y1: y, y2: y, class: C.axisLine}));
  for (const t of ticks) {
    const text = svg('text', {x: sx(t), y: y + 15, 'text-anchor': 'middle'});
    text.textContent = formatStep(t);
    g.appendChild(text);
  }
  layer.appendChild(g);
}

/** A centred "no data" message instead of a plot. */
export function drawNoData(layer, width, height, message) {
  const t = svg('text', {
    x: width / 2,
    y: height / 2,
    'text-anchor': 'middle',
    class: C.chartNoData,
  });
  t.textContent = message;
  layer.appendChild(t);
}
