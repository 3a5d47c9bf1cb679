// Look-ups in the catalogue the `catalog` route sends (the single source of truth of
// every metric, derived quantity and threshold). No DOM here.

/**
 * The catalogue record of a metric or derived key (`metrics[]` or `derived[]`), or null.
 * @param {object|null} catalog
 * @param {string} key
 * @returns {object|null}
 */
export function entryOf(catalog, key) {
  if (!catalog || !key) return null;
  for (const list of [catalog.metrics, catalog.derived]) {
    if (!Array.isArray(list)) continue;
    const e = list.find((m) => m && m.key === key);
    if (e) return e;
  }
  return null;
}

/**
 * What a key means, in the catalogue's words: `{meaning, unit, category}` (empty strings
 * when the catalogue does not know the key).
 * @param {object|null} catalog
 * @param {string} key
 */
export function describeKey(catalog, key) {
  const e = entryOf(catalog, key);
  return {
    meaning: e?.meaning || '',
    unit: e?.unit || '',
    category: e?.category || '',
  };
}

/** Categories in the catalogue's order (metrics first, then derived quantities). */
export function categoryOrder(catalog) {
  const out = [];
  for (const list of [catalog?.metrics, catalog?.derived]) {
    for (const m of Array.isArray(list) ? list : [])
      if (m?.category && !out.includes(m.category)) out.push(m.category);
  }
  return out;
}
