// UI state of the tab and a tiny publish/subscribe (after uPlot's sync.js).
// Data fetched from the routes is kept apart from what the user chose.

const STORAGE_KEY = 'hjepa-health-ui';

/**
 * @typedef {Object} UiState
 * @property {string[]} selected  runs opened (several overlay in charts)
 * @property {string} view        'overview' | 'lights' | 'hierarchy' | 'diagnosis' | 'charts'
 * @property {string|null} category  chart category shown
 * @property {number} smoothing   0..0.99, TensorBoard's debiased EMA weight
 * @property {Object<string, boolean>} logScale  per-tag override of the y scale
 */

/** @returns {UiState} */
function initial() {
  const base = {selected: [], view: 'overview', category: null, smoothing: 0.6, logScale: {}};
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (saved && typeof saved === 'object') {
      if (Array.isArray(saved.selected)) base.selected = saved.selected.filter((s) => typeof s === 'string');
      if (typeof saved.view === 'string') base.view = saved.view;
      if (typeof saved.category === 'string') base.category = saved.category;
      if (typeof saved.smoothing === 'number') base.smoothing = saved.smoothing;
    }
  } catch (e) {
    // Storage may be unavailable (sandboxed iframe, privacy settings): start fresh.
  }
  return base;
}

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
      const changed = Object.keys(patch).filter((k) => state[k] !== patch[k]);
      if (!changed.length) return;
      state = Object.assign({}, state, patch);
      try {
        const {selected, view, category, smoothing} = state;
        window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({selected, view, category, smoothing}));
      } catch (e) {
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
