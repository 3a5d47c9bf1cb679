"""The diagnosis engine: pure numpy verdicts from a run's curves.

``diagnose(run_data)`` returns the ``health`` JSON of http_api.md; ``summarize`` the
run's entry of the ``runs`` route. Modules, one job each:

- ``statistics``: the catalogue's STATISTICS as functions of a curve (robust windows).
- ``rules``: bounds, operators, normalisation (sqrt(D), rank fraction), bands, notes.
- ``context``: one run under diagnosis (curves, D, N, cached statistics).
- ``lights``: one traffic light per (metric with a rule, level).
- ``contributions``: level shares of the weighted loss vs the configured weights.
- ``checks``: one flowchart/pattern check; ``flowchart``, ``patterns``: §11 and §16.
- ``ranges``: §15 expected ranges by training progress.
- ``actions``: what to do first, from the strongest evidence that fired.
- ``engine``: puts them together.
"""

from .engine import diagnose, overall_status, summarize  # noqa: F401
