// SVG charts of the tab, drawn by hand (no library): a line chart with threshold
// bands, smoothing, log scale and hover; a stacked-area chart of level shares; a
// sparkline. Each chart factory returns {el, update(options), destroy()}; destroy()
// removes every listener and observer it added.
//
// Data is columnar per series: points = [[step, value], ...] sorted by step.

import {formatStep, formatValue, logTicks, niceTicks, num, smooth} from './format.js';
import {C} from './classes.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = {left: 56, right: 14, top: 10, bottom: 26};

/** An SVG element with attributes. */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  return el;
}

/** Colour of a status word for drawing (text and icons carry the word too). */
export const STATUS_COLORS = {
  healthy: '#1e8e3e',
  warning: '#f29900',
  collapse: '#d93025',
  critical: '#a50e0e',
  unknown: '#9aa0a6',
};

/** Index of the point whose step is nearest `x` (points sorted by step). */
function nearestIndex(points, x) {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0) return -1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid; else hi = mid;
  }
  return Math.abs(points[lo][0] - x) <= Math.abs(points[hi][0] - x) ? lo : hi;
}

/** "M x y L x y ..." through the finite points; non-finite values break the line. */
function linePath(points, sx, sy, ok) {
  let d = '';
  let pen = false;
  for (const [x, y] of points) {
    if (!ok(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/**
 * Shared frame: sizing through ResizeObserver, a focusable SVG, a tooltip and a hover
 * cursor driven by mouse or arrow keys.
 */
function createFrame(container, {height, label, draw, hoverRows, steps}) {
  const wrap = document.createElement('div');
  wrap.className = C.chart;
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', label || 'chart');
  const root = svg('svg', {class: C.chartSvg, height});
  const tooltip = document.createElement('div');
  tooltip.className = C.tooltip;
  tooltip.hidden = true;
  wrap.append(root, tooltip);
  container.appendChild(wrap);

  let width = Math.max(200, Math.floor(container.clientWidth || 400));
  let geometry = null; // {sx, sxInv, x0, x1}
  let cursorStep = null;

  function render() {
    root.setAttribute('width', width);
    root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    root.textContent = '';
    geometry = draw(root, width, height);
    if (cursorStep !== null) showCursor(cursorStep);
  }

  function showCursor(step) {
    const old = root.querySelector('.hj-cursor');
    if (old) old.remove();
    if (!geometry || step === null) {
      tooltip.hidden = true;
      return;
    }
    cursorStep = step;
    const g = svg('g', {class: 'hj-cursor'});
    const x = geometry.sx(step);
    g.appendChild(svg('line', {x1: x, x2: x, y1: MARGIN.top, y2: height - MARGIN.bottom, class: 'hj-cursor-line'}));
    const rows = hoverRows(step);
    for (const r of rows) {
      if (r.y !== null && r.y !== undefined && Number.isFinite(r.y)) {
        g.appendChild(svg('circle', {cx: geometry.sx(r.step), cy: r.y, r: 3.5, fill: r.color, stroke: '#fff', 'stroke-width': 1.5}));
      }
    }
    root.appendChild(g);
    tooltip.textContent = '';
    const head = document.createElement('div');
    head.className = 'hj-tooltip-head';
    head.textContent = `step ${formatStep(step)}`;
    tooltip.appendChild(head);
    for (const r of rows) {
      const line = document.createElement('div');
      line.className = 'hj-tooltip-row';
      const sw = document.createElement('span');
      sw.className = C.runSwatch;
      sw.style.background = r.color;
      const name = document.createElement('span');
      name.className = 'hj-tooltip-name';
      name.textContent = r.name;
      const val = document.createElement('span');
      val.className = 'hj-tooltip-value';
      val.textContent = r.text;
      line.append(sw, name, val);
      tooltip.appendChild(line);
    }
    tooltip.hidden = rows.length === 0;
    const left = x + 12;
    tooltip.style.left = `${Math.min(left, Math.max(0, width - 220))}px`;
    tooltip.style.top = `${MARGIN.top}px`;
    if (left > width - 220) tooltip.style.left = `${Math.max(0, x - 232)}px`;
  }

  function onMove(ev) {
    if (!geometry) return;
    const rect = root.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    if (px < MARGIN.left - 4 || px > width - MARGIN.right + 4) return;
    const all = steps();
    if (!all.length) return;
    const target = geometry.sxInv(px);
    showCursor(all[nearestIndex(all.map((s) => [s]), target)]);
  }
  function onLeave() {
    if (document.activeElement === wrap) return;
    cursorStep = null;
    showCursor(null);
  }
  function onKey(ev) {
    const all = steps();
    if (!all.length) return;
    let i = cursorStep === null ? -1 : nearestIndex(all.map((s) => [s]), cursorStep);
    const jump = Math.max(1, Math.round(all.length / 20));
    if (ev.key === 'ArrowRight') i = Math.min(all.length - 1, i < 0 ? 0 : i + (ev.shiftKey ? jump : 1));
    else if (ev.key === 'ArrowLeft') i = Math.max(0, i < 0 ? all.length - 1 : i - (ev.shiftKey ? jump : 1));
    else if (ev.key === 'Home') i = 0;
    else if (ev.key === 'End') i = all.length - 1;
    else if (ev.key === 'Escape') {
      cursorStep = null;
      showCursor(null);
      return;
    } else return;
    ev.preventDefault();
    showCursor(all[i]);
  }
  function onBlur() {
    cursorStep = null;
    showCursor(null);
  }
  root.addEventListener('mousemove', onMove);
  root.addEventListener('mouseleave', onLeave);
  wrap.addEventListener('keydown', onKey);
  wrap.addEventListener('blur', onBlur);

  let observer = null;
  if (typeof ResizeObserver !== 'undefined') {
    observer = new ResizeObserver(() => {
      const w = Math.max(200, Math.floor(container.clientWidth || width));
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
    destroy() {
      root.removeEventListener('mousemove', onMove);
      root.removeEventListener('mouseleave', onLeave);
      wrap.removeEventListener('keydown', onKey);
      wrap.removeEventListener('blur', onBlur);
      if (observer) observer.disconnect();
      wrap.remove();
    },
  };
}

function drawYAxis(root, ticks, sy, width, fmt) {
  const g = svg('g', {class: 'hj-axis hj-axis-y'});
  for (const t of ticks) {
    const y = sy(t);
    g.appendChild(svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: 'hj-grid'}));
    const label = svg('text', {x: MARGIN.left - 6, y: y + 3.5, 'text-anchor': 'end'});
    label.textContent = fmt(t);
    g.appendChild(label);
  }
  root.appendChild(g);
}

function drawXAxis(root, x0, x1, sx, height) {
  const g = svg('g', {class: 'hj-axis hj-axis-x'});
  const y = height - MARGIN.bottom;
  g.appendChild(svg('line', {x1: sx(x0), x2: sx(x1), y1: y, y2: y, class: 'hj-axis-line'}));
  const ticks = niceTicks(x0, x1, 5).filter((t) => Number.isInteger(t) || x1 - x0 < 5);
  for (const t of ticks) {
    const label = svg('text', {x: sx(t), y: y + 15, 'text-anchor': 'middle'});
    label.textContent = formatStep(t);
    g.appendChild(label);
  }
  root.appendChild(g);
}

/**
 * Line chart of one quantity for one or more runs.
 * @param {HTMLElement} container
 * @param {Object} options
 * @param {{name: string, color: string, points: Array<[number, *]>}[]} options.series
 * @param {number} [options.smoothing] 0..0.99
 * @param {boolean} [options.log] log y axis (non-positive values are left out)
 * @param {{status: string, lo: number, hi: number}[]} [options.bands] data-unit ranges
 * @param {number} [options.height]
 * @param {string} [options.label] accessible name
 */
export function createLineChart(container, options) {
  let opts = Object.assign({series: [], smoothing: 0, log: false, bands: [], height: 210, label: ''}, options);
  let prepared = [];

  function prepare() {
    prepared = opts.series.map((s) => {
      const pts = s.points.map((p) => [num(p[0]), num(p[1])]).filter((p) => p[0] !== null && p[1] !== null);
      const ys = smooth(pts.map((p) => p[1]), opts.smoothing);
      return {name: s.name, color: s.color, raw: pts, smooth: pts.map((p, i) => [p[0], ys[i]])};
    });
  }

  function allSteps() {
    const set = new Set();
    for (const s of prepared) for (const p of s.raw) set.add(p[0]);
    return Array.from(set).sort((a, b) => a - b);
  }

  function draw(root, width, height) {
    const ok = opts.log ? (v) => Number.isFinite(v) && v > 0 : (v) => Number.isFinite(v);
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const s of prepared) {
      for (const arr of [s.raw, s.smooth]) {
        for (const [x, y] of arr) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (!ok(y)) continue;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (!Number.isFinite(x0)) {
      const t = svg('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'hj-chart-nodata'});
      t.textContent = opts.log ? 'no positive values to draw on a log scale' : 'no finite values';
      root.appendChild(t);
      return null;
    }
    if (x0 === x1) {
      x0 -= 1;
      x1 += 1;
    }
    if (!Number.isFinite(y0)) {
      y0 = opts.log ? 0.1 : 0;
      y1 = opts.log ? 10 : 1;
    }
    // Pull a threshold edge into view when it is near the data (within one data span),
    // so the user sees how close a curve runs to its bound.
    for (const b of opts.bands || []) {
      for (const e of [b.lo, b.hi]) {
        if (!Number.isFinite(e) || (opts.log && e <= 0)) continue;
        const span = opts.log ? Math.log10(y1 / y0) || 0.3 : (y1 - y0) || Math.abs(y1) * 0.1 || 1;
        const dist = opts.log ? (e < y0 ? Math.log10(y0 / e) : Math.log10(e / y1)) : (e < y0 ? y0 - e : e - y1);
        if (dist > 0 && dist <= span) {
          if (e < y0) y0 = e;
          else y1 = e;
        }
      }
    }
    let toY;
    let ticks;
    if (opts.log) {
      if (y0 === y1) {
        y0 /= 2;
        y1 *= 2;
      }
      const l0 = Math.log10(y0) - 0.05 * (Math.log10(y1) - Math.log10(y0));
      const l1 = Math.log10(y1) + 0.05 * (Math.log10(y1) - Math.log10(y0));
      y0 = Math.pow(10, l0);
      y1 = Math.pow(10, l1);
      toY = (v) => (Math.log10(v) - l0) / (l1 - l0);
      ticks = logTicks(y0, y1);
      if (ticks.length < 2) ticks = niceTicks(y0, y1, 4).filter((t) => t > 0);
    } else {
      if (y0 === y1) {
        const d = Math.abs(y0) * 0.1 || 1;
        y0 -= d;
        y1 += d;
      }
      const pad = (y1 - y0) * 0.06;
      y0 -= pad;
      y1 += pad;
      toY = (v) => (v - y0) / (y1 - y0);
      ticks = niceTicks(y0, y1, 4);
    }
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const plotW = width - MARGIN.left - MARGIN.right;
    const sx = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
    const sxInv = (px) => x0 + ((px - MARGIN.left) / plotW) * (x1 - x0);
    const syRaw = (v) => MARGIN.top + (1 - toY(v)) * plotH;
    const sy = (v) => Math.max(MARGIN.top - 2, Math.min(height - MARGIN.bottom + 2, syRaw(v)));

    // Threshold bands, clipped to the plot.
    const bandG = svg('g', {class: 'hj-bands'});
    for (const b of opts.bands || []) {
      let lo = b.lo;
      let hi = b.hi;
      if (opts.log) {
        if (hi <= 0) continue;
        lo = Math.max(lo, y0);
      }
      lo = Math.max(lo, y0);
      hi = Math.min(hi, y1);
      if (!(hi > lo)) continue;
      const top = syRaw(hi);
      const bottom = syRaw(lo);
      bandG.appendChild(svg('rect', {
        x: MARGIN.left, width: plotW, y: top, height: Math.max(0, bottom - top),
        fill: STATUS_COLORS[b.status] || STATUS_COLORS.unknown, class: 'hj-band', 'data-band-status': b.status,
      }));
      for (const edge of [b.lo, b.hi]) {
        if (Number.isFinite(edge) && edge > y0 && edge < y1) {
          const y = syRaw(edge);
          bandG.appendChild(svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y,
            stroke: STATUS_COLORS[b.status] || STATUS_COLORS.unknown, class: 'hj-band-edge'}));
        }
      }
    }
    root.appendChild(bandG);
    drawYAxis(root, ticks, syRaw, width, (t) => formatValue(t, 3));
    drawXAxis(root, x0, x1, sx, height);

    const lines = svg('g', {class: 'hj-lines'});
    for (const s of prepared) {
      if (opts.smoothing > 0) {
        lines.appendChild(svg('path', {d: linePath(s.raw, sx, sy, ok), stroke: s.color, class: 'hj-line-raw'}));
      }
      lines.appendChild(svg('path', {d: linePath(s.smooth, sx, sy, ok), stroke: s.color, class: 'hj-line'}));
      // Non-finite values (NaN, ±Inf) are marked on the top edge, never silently dropped.
      for (const [x, y] of s.raw) {
        if (!Number.isFinite(y)) {
          const px = sx(x);
          const mark = svg('path', {d: `M${px - 4} ${MARGIN.top} L${px + 4} ${MARGIN.top} L${px} ${MARGIN.top + 7} Z`, class: 'hj-nonfinite'});
          const title = svg('title');
          title.textContent = `${s.name}: ${formatValue(y)} at step ${formatStep(x)}`;
          mark.appendChild(title);
          lines.appendChild(mark);
        }
      }
    }
    root.appendChild(lines);
    return {sx, sxInv, sy};
  }

  function hoverRows(step) {
    const rows = [];
    for (const s of prepared) {
      const i = nearestIndex(s.raw, step);
      if (i < 0) continue;
      const raw = s.raw[i][1];
      const sm = s.smooth[i][1];
      const text = opts.smoothing > 0 && Number.isFinite(raw) ? `${formatValue(sm)} (${formatValue(raw)})` : formatValue(raw);
      const okY = opts.log ? Number.isFinite(sm) && sm > 0 : Number.isFinite(sm);
      rows.push({name: s.name, color: s.color, step: s.raw[i][0], text, y: okY && frameGeom() ? frameGeom().sy(sm) : null});
    }
    return rows;
  }

  let geomRef = null;
  const frameGeom = () => geomRef;
  const frame = createFrame(container, {
    height: opts.height,
    label: opts.label,
    draw: (root, w, h) => (geomRef = draw(root, w, h)),
    hoverRows,
    steps: allSteps,
  });
  prepare();
  frame.render();

  return {
    kind: 'line',
    el: frame.wrap,
    update(next) {
      opts = Object.assign({}, opts, next);
      prepare();
      frame.render();
    },
    destroy() {
      frame.destroy();
      prepared = [];
    },
  };
}

/**
 * Stacked area of each level's share of the weighted loss, with the expected shares
 * of the configured weights as dashed reference lines at the cumulative boundaries.
 * @param {HTMLElement} container
 * @param {{levels: number[], steps: number[], shares: number[][], expected: (number[]|null), colors: string[], label?: string, height?: number}} options
 */
export function createStackChart(container, options) {
  const opts = Object.assign({height: 220}, options);
  const steps = (opts.steps || []).map(num);
  const shares = (opts.shares || []).map((row) => row.map(num));
  const levels = opts.levels || [];

  function draw(root, width, height) {
    if (!steps.length || !shares.length) {
      const t = svg('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'hj-chart-nodata'});
      t.textContent = 'no level losses logged';
      root.appendChild(t);
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
    drawYAxis(root, [0, 0.25, 0.5, 0.75, 1], sy, width, (t) => `${Math.round(t * 100)}%`);
    drawXAxis(root, x0, x1, sx, height);
    const below = steps.map(() => 0);
    const g = svg('g', {class: 'hj-stack-areas'});
    shares.forEach((row, li) => {
      const top = steps.map((_, i) => below[i] + (Number.isFinite(row[i]) ? row[i] : 0));
      let d = '';
      steps.forEach((s, i) => {
        d += `${i ? 'L' : 'M'}${sx(s).toFixed(1)} ${sy(Math.min(1, top[i])).toFixed(1)}`;
      });
      for (let i = steps.length - 1; i >= 0; i--) d += `L${sx(steps[i]).toFixed(1)} ${sy(Math.min(1, below[i])).toFixed(1)}`;
      d += 'Z';
      const path = svg('path', {d, fill: opts.colors[li % opts.colors.length], class: 'hj-stack-area'});
      const title = svg('title');
      title.textContent = `level ${levels[li]}`;
      path.appendChild(title);
      g.appendChild(path);
      top.forEach((v, i) => (below[i] = v));
    });
    root.appendChild(g);
    if (Array.isArray(opts.expected) && opts.expected.length === shares.length) {
      const ref = svg('g', {class: 'hj-stack-ref'});
      let cum = 0;
      opts.expected.forEach((e, li) => {
        cum += num(e) || 0;
        if (li === opts.expected.length - 1) return;
        const y = sy(Math.min(1, cum));
        ref.appendChild(svg('line', {x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: 'hj-ref-line'}));
        const t = svg('text', {x: width - MARGIN.right - 4, y: y - 4, 'text-anchor': 'end', class: 'hj-ref-label'});
        t.textContent = `expected top of level ${levels[li]}: ${Math.round(cum * 100)}%`;
        ref.appendChild(t);
      });
      root.appendChild(ref);
    }
    return {sx, sxInv, sy};
  }

  let geomRef = null;
  const frame = createFrame(container, {
    height: opts.height,
    label: opts.label || 'level shares of the loss',
    draw: (root, w, h) => (geomRef = draw(root, w, h)),
    steps: () => steps,
    hoverRows(step) {
      const i = steps.indexOf(step);
      if (i < 0) return [];
      let cum = 0;
      return shares.map((row, li) => {
        cum += Number.isFinite(row[i]) ? row[i] : 0;
        const exp = Array.isArray(opts.expected) ? ` (expected ${formatValue((num(opts.expected[li]) || 0) * 100, 3)}%)` : '';
        return {name: `level ${levels[li]}`, color: opts.colors[li % opts.colors.length], step,
          text: `${Number.isFinite(row[i]) ? formatValue(row[i] * 100, 3) + '%' : '—'}${exp}`,
          y: geomRef ? geomRef.sy(Math.min(1, cum)) : null};
      }).reverse();
    },
  });
  frame.render();
  return {el: frame.wrap, update() {}, destroy: () => frame.destroy()};
}

/**
 * A small static line of recent history (no listeners, nothing to destroy).
 * @param {Array<[number, *]>} points
 * @param {{width?: number, height?: number, color?: string, label?: string}} [o]
 * @returns {SVGElement}
 */
export function sparkline(points, o = {}) {
  const width = o.width || 112;
  const height = o.height || 28;
  const el = svg('svg', {class: C.sparkline, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': o.label || 'recent history'});
  const pts = (points || []).map((p) => [num(p[0]), num(p[1])]).filter((p) => p[0] !== null && p[1] !== null);
  const finite = pts.filter((p) => Number.isFinite(p[1]));
  if (finite.length < 2) {
    const t = svg('text', {x: 2, y: height / 2 + 3, class: 'hj-chart-nodata'});
    t.textContent = finite.length ? '1 point' : 'no data';
    el.appendChild(t);
    return el;
  }
  let x0 = pts[0][0];
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
  el.appendChild(svg('path', {d: linePath(pts, sx, sy, Number.isFinite), stroke: o.color || '#5f6368', class: 'hj-spark-line'}));
  const last = finite[finite.length - 1];
  el.appendChild(svg('circle', {cx: sx(last[0]), cy: sy(last[1]), r: 2.2, fill: o.color || '#5f6368'}));
  return el;
}
