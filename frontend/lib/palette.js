// Colours the tab draws with (SVG fills and strokes). Text and icons always carry the
// status word too, so no meaning rests on colour alone. Page colours (light and dark)
// are CSS variables in style.css.

/** Colour of a status word for drawing. */
export const STATUS_COLORS = {
  healthy: '#1e8e3e',
  warning: '#f29900',
  collapse: '#d93025',
  critical: '#a50e0e',
  unknown: '#9aa0a6',
};

/** TensorBoard's run palette. */
export const RUN_COLORS = [
  '#ff7043',
  '#0077bb',
  '#009988',
  '#ee3377',
  '#33bbee',
  '#cc3311',
  '#7b1fa2',
  '#616161',
];

/** Colours of hierarchy levels (finest first). */
export const LEVEL_COLORS = ['#5b8def', '#f4a259', '#8bc34a', '#ba68c8', '#4db6ac', '#e57373'];

/** The colour of a status, unknown words drawn as unknown. */
export function statusColor(status) {
  return STATUS_COLORS[status] || STATUS_COLORS.unknown;
}
