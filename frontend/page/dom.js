// DOM helpers every view uses: an element builder and the small pieces that recur
// (status icon and badge, run swatch, a tag with break points). Every run name, tag and
// backend text goes in through text nodes, never as HTML.

import {C, statusClass} from '../lib/classes.js';
import {statusColor} from '../lib/palette.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Build an element. `attrs`: `class` (string or list, falsy entries dropped),
 * `dataset` (object), `on` (event -> handler), `text`, anything else as an attribute
 * (null/undefined/false left out, true as ""). Children: nodes, or strings (added as
 * text nodes); nested lists are flattened.
 * @param {string} tag
 * @param {Object} [attrs]
 * @param {...*} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** Append children (nodes or text) to `el`, skipping null/undefined/false. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** An SVG element with attributes (null/undefined left out). */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  return el;
}

/** Small SVG icon of a status (the shape differs per status, not only the colour). */
export function statusIcon(status) {
  const color = statusColor(status);
  const el = svg('svg', {
    class: C.statusIcon,
    width: 14,
    height: 14,
    viewBox: '0 0 16 16',
    'aria-hidden': 'true',
  });
  const white = {
    stroke: '#fff',
    'stroke-width': 2,
    fill: 'none',
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
  };
  if (status === 'healthy') {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M4.5 8.3l2.3 2.3 4.7-4.8'}, white)));
  } else if (status === 'warning') {
    el.appendChild(svg('path', {d: 'M8 0.8L15.5 14.6H0.5Z', fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M8 5.5v4.2M8 12.2v0.2'}, white)));
  } else if (status === 'collapse') {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6'}, white)));
  } else if (status === 'critical') {
    el.appendChild(svg('path', {d: 'M5 0.5h6l4.5 4.5v6L11 15.5H5L0.5 11V5Z', fill: color}));
    el.appendChild(svg('path', Object.assign({d: 'M8 4v5M8 11.8v0.2'}, white)));
  } else {
    el.appendChild(svg('circle', {cx: 8, cy: 8, r: 7.5, fill: color}));
    el.appendChild(
      svg(
        'path',
        Object.assign({d: 'M6 6.2a2 2 0 1 1 2.6 1.9c-.5.2-.6.6-.6 1.1M8 11.8v0.2'}, white),
      ),
    );
  }
  return el;
}

/** A status shown as icon + word, with `data-status`. */
export function statusBadge(status, {label = null, compact = false} = {}) {
  const s = typeof status === 'string' && status ? status : 'unknown';
  return h(
    'span',
    {class: [C.status, statusClass(s), compact && C.statusCompact], dataset: {status: s}},
    statusIcon(s),
    h('span', {class: C.statusWord}, label || s),
  );
}

/** A small square of a run's (or level's) colour. */
export function runSwatch(color) {
  const el = h('span', {class: C.runSwatch, 'aria-hidden': 'true'});
  el.style.background = color;
  return el;
}

/** A tag as text with break opportunities after each "/" (text nodes only). */
export function tagText(tag) {
  const span = h('span', {class: C.mono});
  String(tag)
    .split('/')
    .forEach((part, i, all) => {
      span.appendChild(document.createTextNode(part + (i < all.length - 1 ? '/' : '')));
      if (i < all.length - 1) span.appendChild(document.createElement('wbr'));
    });
  return span;
}
