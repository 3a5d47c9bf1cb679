// The tab's place in its URL hash, so a copied link reopens it and back/forward work.
// No DOM here: the node tests import every function.
//
//   #run=healthy&run=collapsing&view=charts&category=loss&dim=768
//
// `run` repeats (runs overlaid, in order), `view` is a view id, `category` a chart
// category, `dim` the embedding dimension D the user typed. Values are percent-encoded
// (encodeURIComponent). An empty hash is the runs overview. Whatever cannot be read is
// left out and named in `problems`, never thrown.

/**
 * @typedef {Object} Place
 * @property {string[]} runs   opened runs; [] for the overview
 * @property {string|null} view
 * @property {string|null} category
 * @property {number|null} dim
 */

/** Longest hash read (a run name may be long, a link should not be megabytes). */
export const MAX_HASH_LENGTH = 16384;
/** Most runs a link opens. */
export const MAX_RUNS = 64;
/** Largest D accepted (the backend's own bound may be lower; it then says so). */
export const MAX_DIM = 1000000;

const KEYS = ['run', 'view', 'category', 'dim'];

/**
 * A positive whole number of at most MAX_DIM from text, or null.
 * @param {*} text
 * @returns {number|null}
 */
export function parseDim(text) {
  const s = String(text === null || text === undefined ? '' : text).trim();
  if (!/^[0-9]{1,7}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= MAX_DIM ? n : null;
}

function decode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * Read a location hash.
 * @param {string} hash `location.hash` ("#..." or "")
 * @returns {{place: Place, problems: string[]}}
 */
export function parseHash(hash) {
  /** @type {Place} */
  const place = {runs: [], view: null, category: null, dim: null};
  const problems = [];
  let text = String(hash || '');
  if (text.startsWith('#')) text = text.slice(1);
  if (!text) return {place, problems};
  if (text.length > MAX_HASH_LENGTH) {
    problems.push(`the link is longer than ${MAX_HASH_LENGTH} characters; only its start is read`);
    text = text.slice(0, MAX_HASH_LENGTH);
  }
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const key = decode(rawKey);
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (key === null || value === null) {
      problems.push(`“${part.slice(0, 60)}” is not valid percent-encoding`);
      continue;
    }
    if (!key) continue;
    if (!KEYS.includes(key)) {
      problems.push(`unknown link part “${key.slice(0, 40)}”`);
      continue;
    }
    if (key === 'run') {
      if (!value) problems.push('an empty run name');
      else if (place.runs.length >= MAX_RUNS) {
        if (place.runs.length === MAX_RUNS)
          problems.push(`more than ${MAX_RUNS} runs; the rest are left out`);
      } else if (!place.runs.includes(value)) place.runs.push(value);
    } else if (key === 'dim') {
      const d = parseDim(value);
      if (d === null) problems.push(`D “${value.slice(0, 20)}” is not a positive whole number`);
      else place.dim = d;
    } else if (place[key] === null && value) {
      place[key] = value;
    }
  }
  return {place, problems};
}

/**
 * Write a place as a hash ("#run=...", or "" for the overview with nothing set).
 * @param {Place} place
 * @returns {string}
 */
export function formatHash(place) {
  const parts = [];
  const enc = encodeURIComponent;
  for (const r of place.runs || []) parts.push(`run=${enc(r)}`);
  if (place.runs?.length) {
    if (place.view) parts.push(`view=${enc(place.view)}`);
    if (place.category) parts.push(`category=${enc(place.category)}`);
  }
  if (place.dim) parts.push(`dim=${place.dim}`);
  return parts.length ? `#${parts.join('&')}` : '';
}

/**
 * Whether two hashes name the same place (the order of parts other than runs, and
 * encoding variants, do not matter).
 */
export function samePlace(a, b) {
  return formatHash(parseHash(a).place) === formatHash(parseHash(b).place);
}
