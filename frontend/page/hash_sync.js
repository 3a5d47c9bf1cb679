// Mirror the place the user is at (runs, view, chart category, D) in the iframe's own
// URL hash, and follow the hash back: a copied link reopens the same place, the
// browser's back and forward buttons walk through places. The tab is an iframe of
// TensorBoard's page, so this is the iframe's location, not TensorBoard's.

import {formatHash, parseHash, samePlace} from '../lib/hash.js';

/** The place a state shows. */
export function placeOf(state) {
  const open = state.view !== 'overview' && state.selected.length > 0;
  return {
    runs: open ? state.selected : [],
    view: open ? state.view : null,
    category: open ? state.category : null,
    dim: state.dim,
  };
}

/**
 * @param {ReturnType<import('../lib/state.js').createStore>} store
 * @param {Object} o
 * @param {(id: string) => boolean} o.isView whether an id names a view
 * @param {string} o.defaultView view opened by a link that names none
 * @param {(problems: string[]) => void} o.onProblems parts of a link that were left out
 * @returns {() => void} disposer
 */
export function syncHash(store, {isView, defaultView, onProblems}) {
  // Absolute URLs: the page's <base href="plugin/hjepa/"> would resolve a bare "#..."
  // against the plugin's directory, not against this page.
  const base = () => window.location.pathname + window.location.search;
  const url = (hash) => base() + hash;
  let following = false; // applying the hash: the store's change must not push it back

  /** Apply the current hash to the store; true when the hash named a place. */
  function follow() {
    const {place, problems} = parseHash(window.location.hash);
    const state = store.get();
    let view = 'overview';
    if (place.runs.length) {
      if (place.view && isView(place.view)) view = place.view;
      else {
        if (place.view) problems.push(`unknown view “${place.view.slice(0, 40)}”`);
        view = state.lastView && isView(state.lastView) ? state.lastView : defaultView;
      }
    }
    const patch = {selected: place.runs.length ? place.runs : state.selected, view, dim: place.dim};
    if (view !== 'overview') patch.lastView = view;
    if (place.category) patch.category = place.category;
    following = true;
    try {
      store.set(patch);
    } finally {
      following = false;
    }
    if (problems.length) onProblems(problems);
    const normal = formatHash(placeOf(store.get()));
    if (
      window.location.hash !== normal &&
      (problems.length || !samePlace(window.location.hash, normal))
    ) {
      window.history.replaceState(window.history.state, '', url(normal));
    }
  }

  const startHash = window.location.hash;
  if (startHash && startHash !== '#') follow();
  else {
    const h = formatHash(placeOf(store.get()));
    if (h) window.history.replaceState(window.history.state, '', url(h));
  }

  const unsubscribe = store.subscribe((state) => {
    if (following) return;
    const h = formatHash(placeOf(state));
    if (!samePlace(window.location.hash, h)) window.history.pushState(null, '', url(h));
  });
  const onNavigate = () => follow();
  window.addEventListener('popstate', onNavigate);
  window.addEventListener('hashchange', onNavigate);
  return () => {
    unsubscribe();
    window.removeEventListener('popstate', onNavigate);
    window.removeEventListener('hashchange', onNavigate);
  };
}
