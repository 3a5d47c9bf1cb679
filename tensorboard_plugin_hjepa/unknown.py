"""The health answer of a run that could not be read or judged: ``unknown_health``.

The engine (``diagnosis.diagnose``) answers for every run it judges; when reading the
run or the engine itself fails, the plugin's routes and ``hjepa-doctor`` answer this
instead. It is built by the engine's own builder (``diagnosis.answer.Answer``), so it
has every field of the engine's answer (http_api.md ``GET health``), with ``status:
"unknown"``, a ``reason`` and no sections, and keeps what is known without a verdict (the
manifest, the levels, D, the last step, the curves for the charts): a client reads both
kinds of answer the same way.
"""

from typing import List, Optional

from . import catalog, metadata
from .catalog import UNKNOWN


def unknown_health(run: str, reason: str, *, index=None, run_data=None) -> dict:
    """A health answer with status ``unknown`` and ``reason`` (why there is no verdict).

    Args:
      run: the run name.
      reason: a sentence for the user (what failed, with the error).
      index: the run's ``data.RunIndex``, when it could be listed (source, manifest,
        last step without reading any sample).
      run_data: the run's ``RunData``, when it could be read (levels, D, last step and
        the curves are then taken from it).
    """
    manifest = None
    source = None
    convention = None
    levels: List[int] = []
    embed_dim: Optional[int] = None
    last_step = None
    if index is not None:
        source = index.source.value
        manifest = index.manifest
        last_step = index.max_step
        convention = index.convention
    if run_data is not None:
        source = getattr(run_data.source, "value", source)
        resolved = (catalog.resolve(s.tag, scoped=True) for s in run_data.series.values())
        convention = catalog.convention_of(r for r in resolved if r is not None)
        manifest = run_data.manifest if run_data.manifest is not None else manifest
        levels = run_data.levels()
        last_step = run_data.last_step
    elif manifest is not None:
        levels = list(range(manifest.num_levels))
    if manifest is not None:
        embed_dim = manifest.embed_dim
    total = manifest.total_steps if manifest is not None else None
    source_of_manifest = run_data if run_data is not None else index
    error = getattr(source_of_manifest, "manifest_error", None)
    future = bool(getattr(source_of_manifest, "manifest_future", False))
    # Imported here: the diagnosis package brings numpy, which hjepa-doctor does not load
    # before it judges a run.
    from .diagnosis.answer import Answer  # pylint: disable=import-outside-toplevel

    return Answer(
        run=run,
        source=source,
        convention=convention,
        status=UNKNOWN,
        status_reason=reason,
        reason=reason,
        last_step=last_step,
        total_steps=total,
        progress=(min(1.0, last_step / total) if total and last_step is not None else None),
        levels=levels,
        embed_dim=embed_dim,
        embed_dim_source="manifest" if embed_dim else None,
        manifest=manifest.to_dict() if manifest is not None else None,
        manifest_future=future,
        notes=metadata.manifest_notes(future, error),
        tags=run_data.tag_entries() if run_data is not None else [],
    ).to_json()  # the sections, first_action, timeline and coverage stay empty: nothing judged
