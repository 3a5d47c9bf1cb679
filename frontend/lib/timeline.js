// The verdict through a run (the health answer's `timeline`), read for drawing: its
// points merged into stretches of one status (the run header's strip,
// charts/timeline_strip.js) and, per chart, the step at which its light first left
// healthy. No DOM here: the node tests import every function.

/**
 * Consecutive points of one status merged: [{from, start, to, status}]. `start` and `to`
 * are the stretch's first and last judged steps; `from` is where it is drawn from (the
 * previous point's step), so the stretches tile the run.
 */
export function stretches(points) {
  const out = [];
  let prev = null;
  for (const p of points) {
    if (!p || !Number.isFinite(p.step)) continue;
    const last = out[out.length - 1];
    if (last && last.status === p.status) last.to = p.step;
    else
      out.push({
        from: prev === null ? p.step : prev,
        start: p.step,
        to: p.step,
        status: String(p.status || 'unknown'),
      });
    prev = p.step;
  }
  return out;
}

/**
 * The first step at which a run's light of (key, level) left healthy, or null.
 * @param {object} health
 * @param {string} key
 * @param {number|null|undefined} level
 * @returns {{step: number, status: string}|null}
 */
export function leftHealthy(health, key, level) {
  const tl = health?.timeline;
  const lights = tl && Array.isArray(tl.lights) ? tl.lights : [];
  const want = level === undefined ? null : level;
  const hit = lights.find(
    (x) => x && x.key === key && (x.level ?? null) === want && Number.isFinite(x.step),
  );
  return hit ? {step: hit.step, status: String(hit.status || 'warning')} : null;
}
