// Pure helpers of the H-JEPA Health tab: numbers, bounds and labels as text, ticks,
// CSV. No DOM here, so `node --test` can exercise every function. (Smoothing and
// thinning of curves: series.js; threshold bands: bands.js.)

/**
 * A number from the backend JSON. TensorBoard's http_util writes NaN and infinities
 * as the strings "NaN", "Infinity" and "-Infinity"; null stays null.
 * @param {*} v
 * @returns {number|null}
 */
export function num(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return null;
}

/** True for a finite number (after `num`). */
export function isFiniteNum(v) {
  const n = num(v);
  return n !== null && Number.isFinite(n);
}

/**
 * A value for people: 4 significant digits, exponent notation for very small or large.
 * @param {*} v
 * @param {number} [digits]
 */
export function formatValue(v, digits = 4) {
  const n = num(v);
  if (n === null) return '—';
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+∞';
  if (n === -Infinity) return '−∞';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e5 || a < 1e-3) {
    const [mant, exp] = n.toExponential(Math.max(0, digits - 2)).split('e');
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    return `${m}e${exp.replace('+', '')}`;
  }
  if (Number.isInteger(n)) return String(n);
  const s = n.toPrecision(digits);
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** A step number with thousands separators ("12,000"); "—" when unknown. */
export function formatStep(v) {
  const n = num(v);
  if (n === null || !Number.isFinite(n)) return '—';
  // By hand: toLocaleString costs ~0.1 ms a call, and axes and tooltips call it often.
  const s = String(Math.abs(Math.round(n)));
  let out = '';
  for (let i = s.length; i > 0; i -= 3)
    out = (i > 3 ? ',' : '') + s.slice(Math.max(0, i - 3), i) + out;
  return (Math.round(n) < 0 ? '-' : '') + out;
}

/** "12:03:04" for a Date (local time). */
export function formatClock(date) {
  const p = (x) => String(x).padStart(2, '0');
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** "47%" for a fraction. */
export function formatPercent(v, digits = 0) {
  const n = num(v);
  if (n === null || !Number.isFinite(n)) return '—';
  return `${(n * 100).toFixed(digits)}%`;
}

/** Operators as they read in text. */
const OP_TEXT = {'<': '<', '<=': '≤', '>': '>', '>=': '≥', '==': '='};

/**
 * A bound as text: a number or a [low, high] pair. Bounds arrive resolved for their run
 * (the health answer's lights and checks): the tab resolves none itself.
 * @param {*} bound
 */
export function boundText(bound) {
  if (Array.isArray(bound)) return `[${formatValue(bound[0])}, ${formatValue(bound[1])}]`;
  return formatValue(bound);
}

/** "< 0.28", "outside [0.4, 0.7]" */
export function comparisonText(op, bound) {
  if (op === 'outside' || op === 'inside') return `${op} ${boundText(bound)}`;
  return `${OP_TEXT[op] || op} ${boundText(bound)}`;
}

/** How a normalisation turns the raw value into the judged one, in words. */
export function normaliseText(normalise, dim = null) {
  if (normalise === 'sqrt_dim')
    return dim ? `judged as value × √D (D=${dim})` : 'judged as value × √D';
  if (normalise === 'rank_fraction')
    return dim ? `judged as value ÷ min(N, D) (D=${dim})` : 'judged as value ÷ min(N, D)';
  return '';
}

/** True when the positive finite values span at least `decades` powers of ten. */
export function spansDecades(values, decades = 2) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > 0) || !(lo > 0)) return false;
  return Math.log10(hi / lo) >= decades;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const start = Math.ceil(lo / step - 1e-9) * step;
  const ticks = [];
  for (let t = start; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten covering [lo, hi] (both > 0), thinned to about `count`; 1-2-5 steps
 * when the range holds fewer than three powers of ten. */
export function logTicks(lo, hi, count = 6) {
  if (!(lo > 0) || !(hi > 0)) return [];
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const inRange = (t) => t >= lo * 0.999 && t <= hi * 1.001;
  const every = Math.max(1, Math.ceil((b - a + 1) / count));
  const decades = [];
  for (let e = a; e <= b; e += every) decades.push(Number((10 ** e).toPrecision(12)));
  const ticks = decades.filter(inRange);
  if (ticks.length >= 3) return ticks;
  const fine = [];
  for (let e = a; e <= b; e++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (inRange(t)) fine.push(t);
    }
  }
  return fine.length >= 2 ? fine : ticks;
}

/** Quote one CSV field (RFC 4180) and defuse spreadsheet formulas in text. */
export function csvField(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    return String(v);
  }
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text from a header row and data rows. */
export function toCsv(header, rows) {
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) lines.push(row.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/** A file name made safe from a tag ("train/loss/total" -> "train_loss_total"). */
export function safeFileName(s) {
  return (
    String(s)
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 120) || 'data'
  );
}

/** Status words, worst last (the catalogue's order is authoritative when given). */
export const DEFAULT_STATUS_ORDER = ['unknown', 'healthy', 'warning', 'collapse', 'critical'];

/** Rank of a status word (higher is worse); unknown words rank as unknown. */
export function statusRank(status, order = DEFAULT_STATUS_ORDER) {
  const i = order.indexOf(status);
  return Math.max(i, 0);
}

/** A catalogue category as a heading ("learning_rate" -> "Learning rate"). */
export function categoryLabel(cat) {
  const s = String(cat).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The short name of a catalogue key ("collapse.effective_rank" -> "effective rank"). */
export function keyLabel(key, {withCategory = false} = {}) {
  const s = String(key || '');
  if (withCategory) return s.replace(/[._]/g, ' ');
  const tail = s.includes('.') ? s.slice(s.indexOf('.') + 1) : s;
  return tail.replace(/_/g, ' ');
}

/** "level 1", or "" for a run-wide quantity. */
export function levelText(level) {
  return level === null || level === undefined ? '' : `level ${level}`;
}

const SOURCE_LABELS = {
  hjepa: 'H-JEPA summary API',
  plain: 'plain scalars',
  upstream: 'upstream H-JEPA tags',
  other: "another codebase's tags",
};

/** Who wrote a run's logs, in words (the `source` field of the routes). */
export function sourceLabel(source) {
  return SOURCE_LABELS[source] || String(source || 'unknown');
}

/**
 * Which embedding dimension D a verdict assumed, in words, from the health answer's
 * `embed_dim` and `embed_dim_source` ("manifest", "user" or null).
 * @param {*} dim
 * @param {*} source
 */
export function dimText(dim, source) {
  if (!dim) return 'D unknown';
  if (source === 'user') return `D=${dim} (assumed: typed in this tab)`;
  if (source === 'manifest') return `D=${dim} (run manifest)`;
  return `D=${dim}`;
}
