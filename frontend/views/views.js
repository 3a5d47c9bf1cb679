// THE list of views of a run: id (in the URL hash and `data-view`), label (the tab's
// text) and build function. The navigation is drawn from this list; adding a view is a
// new entry here and its own module.
//
// A build function receives a ViewEnv and returns (or resolves to) the view's element,
// or `{node, onState, dispose}` when the view redraws itself on some state changes
// (the keys listed in `live`: the app then calls onState instead of rebuilding), or
// null when the user moved on while it was loading (env.stale()).

import {buildCharts} from './view_charts.js';
import {buildDiagnosis} from './view_diagnosis.js';
import {buildHierarchy} from './view_hierarchy.js';
import {buildLights} from './view_lights.js';

/**
 * @typedef {Object} RunItem  one selected run with its verdict
 * @property {string} run
 * @property {string} color
 * @property {object} health the `health` route's answer
 */

/**
 * @typedef {Object} ViewEnv  what a view may use
 * @property {RunItem[]} items
 * @property {object|null} catalog the `catalog` route's answer
 * @property {string|null} catalogError
 * @property {string[]} statusOrder status words, worst last
 * @property {import('../lib/state.js').UiState} state the state the view is built for
 * @property {() => import('../lib/state.js').UiState} get the current state
 * @property {(patch: Object) => void} set change the UI state
 * @property {(run: string, tag: string) => ({columns, error, note}|undefined)} curve a loaded curve
 * @property {(pairs: Array<{run: string, tag: string}>) => Promise<void>} loadCurves
 * @property {(chart: {destroy: Function}) => object} track destroy the chart with the view
 * @property {(fn: () => (void|Function)) => void} afterMount run once the view is in the
 *   page; a function it returns runs after every other callback's read (mount.js)
 * @property {(node: Node) => void} interim show while loading (keeps the run layout)
 * @property {() => boolean} stale true once the user moved on
 */

/**
 * @typedef {Object} ViewSpec
 * @property {string} id
 * @property {string} label
 * @property {(env: ViewEnv) => (Node|Object|null|Promise<Node|Object|null>)} build
 * @property {string[]} [controls] bar controls the view uses ("smoothing")
 * @property {string[]} [live] state keys the view follows without a rebuild
 */

/** @type {ViewSpec[]} */
export const VIEWS = [
  {id: 'lights', label: 'Collapse lights', build: buildLights},
  {id: 'hierarchy', label: 'Hierarchy', build: buildHierarchy},
  {id: 'diagnosis', label: 'Diagnosis', build: buildDiagnosis},
  {
    id: 'charts',
    label: 'Charts',
    build: buildCharts,
    controls: ['smoothing'],
    live: ['smoothing', 'logScale'],
  },
];

/** The view of an id, or null. */
export function viewById(id) {
  return VIEWS.find((v) => v.id === id) || null;
}
