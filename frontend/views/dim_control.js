// The embedding-dimension control of the bar. Logs without a run manifest have no D, so
// the dimension-relative lights (std x sqrt(D), rank / min(N, D)) are unknown; the
// user types the D the run was trained with, and the tab asks the routes to assume it
// (`embed_dim=D`). A run whose manifest states D keeps its own (the answer's
// `embed_dim_source` says which D was used; the run header shows it).

import {C} from '../lib/classes.js';
import {parseDim} from '../lib/hash.js';
import {h} from '../page/dom.js';

/**
 * @param {Object} p
 * @param {number|null} p.value
 * @param {(dim: number|null) => void} p.onApply
 * @returns {{el: HTMLElement, set: (dim: number|null) => void}}
 */
export function dimControl({value, onApply}) {
  const input = h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'off',
    spellcheck: 'false',
    size: '6',
    class: C.dimInput,
    placeholder: 'e.g. 768',
    'aria-label': 'embedding dimension D for runs without a manifest',
    'aria-describedby': 'hj-dim-help',
  });
  const clear = h(
    'button',
    {
      class: [C.button, C.buttonSmall],
      type: 'button',
      title: 'forget the typed D',
      'aria-label': 'clear D',
      dataset: {action: 'dim-clear'},
    },
    '×',
  );
  const message = h('span', {class: [C.small, C.dimMessage], role: 'status', id: 'hj-dim-help'});
  const form = h(
    'form',
    {
      class: C.dimForm,
      role: 'group',
      'aria-label': 'embedding dimension',
      title:
        'Embedding dimension D to assume for runs whose logs have no manifest (D-relative lights need it)',
    },
    h('label', {class: C.dimLabel}, 'Assume D', input),
    h(
      'button',
      {class: [C.button, C.buttonSmall], type: 'submit', dataset: {action: 'dim-apply'}},
      'Apply',
    ),
    clear,
    message,
  );

  const show = (dim) => {
    input.value = dim ? String(dim) : '';
    clear.hidden = !dim;
    message.textContent = dim ? 'assumed where a run has no manifest D' : '';
    form.classList.toggle(C.dimSet, !!dim);
    input.removeAttribute('aria-invalid');
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) {
      onApply(null);
      return;
    }
    const dim = parseDim(text);
    if (dim === null) {
      input.setAttribute('aria-invalid', 'true');
      message.textContent = 'D must be a positive whole number';
      return;
    }
    onApply(dim);
  });
  clear.addEventListener('click', () => onApply(null));
  show(value);
  return {
    el: form,
    set: show,
    /** Say why a D was refused (the routes' own bound). */
    refuse(text) {
      input.setAttribute('aria-invalid', 'true');
      message.textContent = text;
    },
  };
}
