// Light or dark, as TensorBoard is. The tab is an iframe of TensorBoard's page (same
// origin): TensorBoard marks dark mode with the `dark-mode` class on its <body>, so
// that class decides while it can be read, followed through a MutationObserver. Where
// the parent cannot be read (the tab opened on its own, or a cross-origin embedder) the
// browser's `prefers-color-scheme` decides, followed through its change event.

import {C} from '../lib/classes.js';

const DARK_CLASS = 'dark-mode'; // TensorBoard's own class on its <body>
const QUERY = '(prefers-color-scheme: dark)';

/** TensorBoard's <body>, or null when there is no readable parent page. */
function parentBody() {
  try {
    if (window.parent === window) return null;
    const body = window.parent.document?.body;
    return body || null;
  } catch {
    return null; // cross-origin parent
  }
}

/**
 * Keep `root` (the <html> element) in TensorBoard's theme: adds C.dark when dark and
 * sets `data-theme` to "dark" or "light" and the page's `color-scheme`.
 * @param {HTMLElement} root
 * @param {(dark: boolean) => void} [onChange] called after every change
 * @returns {{dark: () => boolean, source: string, dispose: () => void}}
 */
export function followTheme(root, onChange) {
  let dark = false;
  const apply = (next) => {
    const changed = next !== dark || !root.dataset.theme;
    dark = next;
    root.classList.toggle(C.dark, dark);
    root.dataset.theme = dark ? 'dark' : 'light';
    root.style.colorScheme = dark ? 'dark' : 'light';
    if (changed && onChange) onChange(dark);
  };
  const body = parentBody();
  if (body) {
    apply(body.classList.contains(DARK_CLASS));
    const Observer = window.parent.MutationObserver || MutationObserver;
    const observer = new Observer(() => apply(body.classList.contains(DARK_CLASS)));
    observer.observe(body, {attributes: true, attributeFilter: ['class']});
    return {dark: () => dark, source: 'tensorboard', dispose: () => observer.disconnect()};
  }
  const media = typeof window.matchMedia === 'function' ? window.matchMedia(QUERY) : null;
  if (!media) {
    apply(false);
    return {dark: () => dark, source: 'none', dispose: () => {}};
  }
  const onMedia = () => apply(media.matches);
  apply(media.matches);
  media.addEventListener('change', onMedia);
  return {
    dark: () => dark,
    source: 'prefers-color-scheme',
    dispose: () => media.removeEventListener('change', onMedia),
  };
}
