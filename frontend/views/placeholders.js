// The states a page can be in besides showing data: loading, a failed route, and an
// empty log directory (with how to produce logs this tab reads).

import {C} from '../lib/classes.js';
import {h, statusIcon} from '../page/dom.js';

/** Loading placeholder. */
export function loadingView(text = 'Loading…') {
  return h(
    'div',
    {class: C.loading, role: 'status'},
    h('span', {class: C.spinner, 'aria-hidden': 'true'}),
    text,
  );
}

/** Error state: what failed, the message, and a retry button. */
export function errorView(what, message, onRetry) {
  return h(
    'div',
    {class: [C.card, C.error], role: 'alert'},
    h(
      'div',
      {class: C.errorHead},
      statusIcon('critical'),
      h('strong', {}, `Could not load ${what}`),
    ),
    h('p', {class: C.mono}, message || 'unknown error'),
    h(
      'p',
      {class: C.muted},
      'The H-JEPA plugin route failed. Check the TensorBoard server log; the tab retries on the next reload.',
    ),
    onRetry
      ? h(
          'button',
          {class: [C.button, C.buttonPrimary], type: 'button', on: {click: onRetry}},
          'Retry',
        )
      : null,
  );
}

/**
 * Empty state: how to produce logs this tab reads. Tag and key examples come from the
 * catalogue (never spelled here).
 * @param {object|null} catalog
 * @param {{text: string, tags_seen: string[], tags_seen_count: number}|null} [hint] the
 *   runs answer's hint: the scalar tags the log directory holds, none of them read here
 */
export function emptyView(catalog, hint = null) {
  const metrics =
    catalog && Array.isArray(catalog.metrics)
      ? catalog.metrics.filter((m) => m.kind === 'scalar')
      : [];
  const runWide = metrics.find((m) => !m.per_level && m.rule) || metrics.find((m) => !m.per_level);
  const perLevel =
    metrics.find((m) => m.per_level && m.rule?.normalise && m.rule.normalise !== 'none') ||
    metrics.find((m) => m.per_level);
  const fill = (tag) => String(tag).replace('{i}', '0');
  const apiLines = [
    'from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter',
    '',
    'manifest = RunManifest(num_levels=3, hierarchy_weights=[1.0, 0.5, 0.25], embed_dim=192)',
    'with SummaryWriter("runs/exp1", manifest=manifest) as writer:',
  ];
  if (runWide) apiLines.push(`    writer.scalar(${JSON.stringify(runWide.key)}, loss, step=step)`);
  if (perLevel)
    apiLines.push(`    writer.scalar(${JSON.stringify(perLevel.key)}, value, step=step, level=0)`);
  const plainLines = [
    'from torch.utils.tensorboard import SummaryWriter',
    '',
    'writer = SummaryWriter("runs/exp1")',
  ];
  if (runWide) plainLines.push(`writer.add_scalar(${JSON.stringify(runWide.tag)}, loss, step)`);
  if (perLevel)
    plainLines.push(`writer.add_scalar(${JSON.stringify(fill(perLevel.tag))}, value, step)`);
  const code = (lines) => h('pre', {class: C.code}, lines.join('\n'));
  return h(
    'div',
    {class: [C.card, C.empty]},
    h(
      'div',
      {class: C.emptyHead},
      statusIcon('unknown'),
      h('h2', {}, 'No H-JEPA runs in this log directory'),
    ),
    hint
      ? h(
          'p',
          {class: [C.notice, C.emptyHint], dataset: {tagsSeen: String(hint.tags_seen_count || 0)}},
          `What it holds: ${hint.text}.`,
        )
      : null,
    h(
      'p',
      {},
      'This tab lists runs that log the metrics of the H-JEPA metric reference. ' +
        'Write them in one of three ways, then point TensorBoard at the directory (tensorboard --logdir runs).',
    ),
    h(
      'ol',
      {class: C.emptySteps},
      h(
        'li',
        {},
        h('strong', {}, 'Train with the bundled trainer. '),
        'Install the training extra and run it; it logs every catalogue metric and a run manifest.',
        code([
          "pip install 'tensorboard-plugin-hjepa[train]'",
          'hjepa-train --logdir runs            # bundled tiny CPU config',
          'hjepa-train --config my.yaml --set KEY=VALUE --logdir runs',
          'tensorboard --logdir runs',
        ]),
      ),
      h(
        'li',
        {},
        h('strong', {}, 'Use the summary API '),
        'from your own training loop (metrics by catalogue key):',
        code(apiLines),
      ),
      h(
        'li',
        {},
        h('strong', {}, 'Log plain scalars '),
        "with the reference's tag names (any SummaryWriter). " +
          'Without a manifest, hierarchy weights and the embedding dimension are unknown and the lights that need them say so; ' +
          'type D in the bar above to judge them at an assumed dimension.',
        code(plainLines),
      ),
    ),
    h(
      'p',
      {class: C.muted},
      'Logs of the upstream H-JEPA implementation (train/loss, train/loss_h0, …) are read too. ' +
        (metrics.length ? `The catalogue knows ${metrics.length} metrics.` : ''),
    ),
  );
}
