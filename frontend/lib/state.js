// UI state of the tab and a tiny publish/subscribe (after uPlot's sync.js). Data
// fetched from the routes is kept apart from what the user chose. The place (runs,
// view, category, D) is mirrored in the URL hash by hash_sync.js; the rest is kept for
// the browser tab's session (sessionStorage).

const STORAGE_KEY = 'hjepa-health-ui';

/**
 * @typedef {Object} UiState
 * @property {string[]} selected  runs opened (several overlay in charts)
 * @property {string} view        'overview' or a view id of views.js
 * @property {string|null} lastView  the last run view opened (the overview reopens it)
 * @property {string|null} category  chart category shown
 * @property {number} smoothing   0..0.99, TensorBoard's debiased EMA weight
 * @property {Object<string, boolean>} logScale  per-tag override of the y scale
 * @property {number|null} dim    embedding dimension D the user typed (runs without a manifest D)
 */

const PERSISTED = ['selected', 'view', 'lastView', 'category', 'smoothing', 'dim'];

/** @returns {UiState} */
function initial() {
  const base = {
    selected: [],
    view: 'overview',
    lastView: null,
    category: null,
    smoothing: 0.6,
    logScale: {},
    dim: null,
  };
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (saved && typeof saved === 'object') {
      if (Array.isArray(saved.selected))
        base.selected = saved.selected.filter((s) => typeof s === 'string');
      if (typeof saved.view === 'string') base.view = saved.view;
      if (typeof saved.lastView === 'string') base.lastView = saved.lastView;
      if (typeof saved.category === 'string') base.category = saved.category;
      if (typeof saved.smoothing === 'number' && saved.smoothing >= 0 && saved.smoothing < 1)
        base.smoothing = saved.smoothing;
      if (Number.isInteger(saved.dim) && saved.dim > 0) base.dim = saved.dim;
    }
  } catch {
    // Storage may be unavailable (sandboxed iframe, privacy settings): start fresh.
  }
  return base;
}

function same(a, b) {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/**
 * @returns {{get: () => UiState, set: (patch: Object) => void,
 *   subscribe: (fn: (state: UiState, changed: string[]) => void) => (() => void)}}
 */
export function createStore() {
  /** @type {UiState} */
  let state = initial();
  const listeners = new Set();
  return {
    get() {
      return state;
    },
    /** Merge `patch` into the state and notify subscribers with the changed keys. */
    set(patch) {
      const changed = Object.keys(patch).filter((k) => !same(state[k], patch[k]));
      if (!changed.length) return;
      state = Object.assign({}, state, patch);
      try {
        const saved = {};
        for (const k of PERSISTED) saved[k] = state[k];
        window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(saved));
      } catch {
        // Not persisting is fine.
      }
      for (const fn of Array.from(listeners)) fn(state, changed);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
