// Replace the content of an area, keeping what the user had open: which <details> were
// open, where the focus was, the scroll position. A reload rebuilds the view; the user
// should not notice beyond the new numbers.

const KEY_ATTRS = [
  'run',
  'view',
  'category',
  'tag',
  'key',
  'level',
  'branch',
  'pattern',
  'check',
  'action',
];

/** A stable name of an element across re-renders: its tag, first class and keyed ancestors. */
function identity(el, root) {
  const parts = [];
  for (let n = el; n && n !== root; n = n.parentElement) {
    const ds = n.dataset || {};
    const p = KEY_ATTRS.filter((a) => ds[a] !== undefined)
      .map((a) => `${a}=${ds[a]}`)
      .join(',');
    if (p) parts.push(p);
  }
  const cls = typeof el.className === 'string' ? el.className.split(' ')[0] : '';
  return `${el.tagName}.${cls}|${parts.join('/')}`;
}

/**
 * Put `node` in `area` instead of its content, then run `mounted` callbacks in two
 * phases: every callback first (charts read their container's width there), then every
 * function they returned (charts draw there). Reads before writes: one layout for the
 * whole view instead of one per chart.
 * @param {HTMLElement} area
 * @param {Node} node
 * @param {Array<() => (void|(() => void))>} [mounted]
 */
export function replaceContent(area, node, mounted = []) {
  const openState = new Map();
  for (const d of area.querySelectorAll('details')) openState.set(identity(d, area), d.open);
  const active =
    document.activeElement && area.contains(document.activeElement)
      ? identity(document.activeElement, area)
      : null;
  const scroll = window.scrollY;
  area.textContent = '';
  area.appendChild(node);
  const then = [];
  for (const fn of mounted) {
    const next = fn();
    if (typeof next === 'function') then.push(next);
  }
  for (const fn of then) fn();
  for (const d of area.querySelectorAll('details')) {
    const id = identity(d, area);
    if (openState.has(id)) d.open = openState.get(id);
  }
  if (active) {
    const tag = active.split('|')[0].split('.')[0];
    const target = Array.from(area.querySelectorAll(tag)).find(
      (el) => identity(el, area) === active,
    );
    if (target) target.focus({preventScroll: true});
  }
  window.scrollTo(0, scroll);
}
