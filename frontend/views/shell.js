// The tab's frame: the top bar (back, title, the controls views ask for, D, link,
// reload) and the area for notices. Views are drawn in `main`.

import {C} from '../lib/classes.js';
import {h} from '../page/dom.js';
import {dimControl} from './dim_control.js';

/**
 * @param {Object} p
 * @param {number} p.smoothing
 * @param {number|null} p.dim
 * @param {() => void} p.onBack
 * @param {(v: number) => void} p.onSmoothing
 * @param {(dim: number|null) => void} p.onDim
 * @param {() => void} p.onReload
 */
export function createShell({smoothing, dim, onBack, onSmoothing, onDim, onReload}) {
  const updated = h('span', {class: C.barMeta, 'aria-live': 'polite'});
  const back = h(
    'button',
    {class: [C.button, C.back], type: 'button', hidden: true, on: {click: onBack}},
    '← All runs',
  );
  const slider = h('input', {
    type: 'range',
    min: '0',
    max: '0.99',
    step: '0.01',
    class: C.slider,
    'aria-label': 'smoothing',
  });
  const sliderValue = h('span', {class: [C.mono, C.smoothingValue]});
  const smoothingBox = h(
    'label',
    {class: C.smoothing, hidden: true},
    'Smoothing ',
    slider,
    sliderValue,
  );
  const showSmoothing = (v) => {
    slider.value = String(v);
    sliderValue.textContent = v.toFixed(2);
  };
  slider.addEventListener('input', () => {
    const v = Math.min(0.99, Math.max(0, Number(slider.value) || 0));
    sliderValue.textContent = v.toFixed(2);
    onSmoothing(v);
  });
  showSmoothing(smoothing);
  const dimBox = dimControl({value: dim, onApply: onDim});
  const notices = h('div', {class: C.notices, 'aria-live': 'polite'});

  /** Show a dismissable notice (link problems, copied link). */
  const notice = (text, {id = null, extra = null} = {}) => {
    if (id) for (const old of notices.querySelectorAll(`[data-notice="${id}"]`)) old.remove();
    const el = h(
      'div',
      {class: [C.notice, C.noticeBar], dataset: {notice: id || 'info'}, role: 'status'},
      h('span', {}, text),
      extra,
      h(
        'button',
        {
          class: [C.button, C.buttonSmall],
          type: 'button',
          'aria-label': 'dismiss',
          on: {click: () => el.remove()},
        },
        '×',
      ),
    );
    notices.appendChild(el);
    return el;
  };

  const copy = h(
    'button',
    {
      class: [C.button, C.iconButton],
      type: 'button',
      dataset: {action: 'copy-link'},
      title: 'copy a link to this place of the tab',
      on: {click: () => copyLink(notice)},
    },
    'Copy link',
  );
  const reload = h(
    'button',
    {
      class: [C.button, C.iconButton],
      type: 'button',
      title: 'reload data',
      'aria-label': 'reload data',
      on: {click: onReload},
    },
    '⟳ Reload',
  );
  const bar = h(
    'header',
    {class: C.bar},
    back,
    h('h1', {class: C.barTitle}, 'H-JEPA Health'),
    h('span', {class: C.barSpacer}),
    smoothingBox,
    dimBox.el,
    updated,
    copy,
    reload,
  );
  const main = h('main', {class: C.main});
  const el = h('div', {class: C.root}, bar, notices, main);
  return {
    el,
    main,
    notice,
    /** Show what the current view needs: the back button, its controls. */
    setView(spec) {
      back.hidden = !spec;
      smoothingBox.hidden = !(spec && (spec.controls || []).includes('smoothing'));
    },
    setUpdated: (text) => (updated.textContent = text),
    setDim: (d) => dimBox.set(d),
    refuseDim: (text) => dimBox.refuse(text),
    setSmoothing: showSmoothing,
    clearNotice(id) {
      for (const old of notices.querySelectorAll(`[data-notice="${id}"]`)) old.remove();
    },
  };
}

/** Copy the tab's own address (with its place in the hash); show it when copying fails. */
async function copyLink(notice) {
  const url = window.location.href;
  try {
    await navigator.clipboard.writeText(url);
    notice('Link copied: it reopens this run, view and category.', {id: 'link'});
  } catch {
    const field = h('input', {
      type: 'text',
      readonly: true,
      class: [C.mono, C.linkField],
      value: url,
      'aria-label': 'link to this place',
    });
    notice('Copy this link:', {id: 'link', extra: field});
    field.focus();
    field.select();
  }
}
