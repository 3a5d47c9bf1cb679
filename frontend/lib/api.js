// One async function per route of http_api.md. Every URL is relative: the iframe's
// <base href="plugin/hjepa/"> resolves it under /data/plugin/hjepa/ (and any
// --path_prefix). Each function resolves to {data} or {error}; it never throws.

/**
 * @typedef {{data: (object|null), error: (string|null), status: number}} Result
 */

/**
 * GET a JSON route.
 * @param {string} path relative URL
 * @param {AbortSignal} [signal]
 * @returns {Promise<Result>}
 */
export async function fetchJSON(path, signal) {
  let response;
  try {
    response = await fetch(path, {
      signal,
      headers: {Accept: 'application/json'},
      credentials: 'same-origin',
    });
  } catch (e) {
    if (e && e.name === 'AbortError') return {data: null, error: 'aborted', status: 0};
    return {data: null, error: `network error: ${e?.message ? e.message : e}`, status: 0};
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : response.statusText;
    return {
      data: null,
      error: `${path.split('?')[0]}: HTTP ${response.status} ${msg || ''}`.trim(),
      status: response.status,
    };
  }
  if (body === null || typeof body !== 'object') {
    return {
      data: null,
      error: `${path.split('?')[0]}: the answer is not JSON`,
      status: response.status,
    };
  }
  return {data: body, error: null, status: response.status};
}

/** `&embed_dim=D` (or `?` first) when the user typed a D, else "". */
function dimParam(dim, first) {
  return dim ? `${first ? '?' : '&'}embed_dim=${encodeURIComponent(String(dim))}` : '';
}

/**
 * GET ./runs (?embed_dim=D: the D assumed for runs without a manifest D)
 * @param {number|null} [dim]
 * @param {AbortSignal} [signal]
 */
export function getRuns(dim = null, signal) {
  return fetchJSON(`./runs${dimParam(dim, true)}`, signal);
}

/** GET ./catalog (cached: the catalogue does not change while the server runs). */
let catalogPromise = null;
export function getCatalog() {
  if (!catalogPromise) {
    catalogPromise = fetchJSON('./catalog').then((r) => {
      if (r.error) catalogPromise = null;
      return r;
    });
  }
  return catalogPromise;
}

/**
 * GET ./health?run=R (&embed_dim=D: the D assumed when the run has no manifest D)
 * @param {string} run
 * @param {number|null} [dim]
 * @param {AbortSignal} [signal]
 */
export function getHealth(run, dim = null, signal) {
  return fetchJSON(`./health?run=${encodeURIComponent(run)}${dimParam(dim, false)}`, signal);
}

/** GET ./scalars?run=R&tag=T */
export function getScalars(run, tag, signal) {
  return fetchJSON(
    `./scalars?run=${encodeURIComponent(run)}&tag=${encodeURIComponent(tag)}`,
    signal,
  );
}

/**
 * Run async tasks with at most `limit` in flight (the server has few cores).
 * @template T
 * @param {Array<() => Promise<T>>} tasks
 * @param {number} limit
 * @returns {Promise<T[]>}
 */
export async function pool(tasks, limit = 4) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, tasks.length)}, worker));
  return results;
}
