"""The diagnosis engine: pure numpy verdicts from a run's curves.

``diagnose(run_data)`` returns the ``health`` JSON of http_api.md; ``summarize`` the
run's entry of the ``runs`` route. The modules fall into four layers; each imports only
from the layers below it (and a section may read a light through ``lights.light_of``):

  entry     timeline   changes        the answer over a run's prefixes; between two answers
               |
            engine --> actions        diagnose(): context, sections, conclusions;
               |  \\--> answer         what to do first; the one builder of the answer
  ------------ v --------------------------------------------------------------------------
  sections  lights   contributions   findings          ranges
            a light  level shares    §11 flowchart,    §15 expected ranges
            per rule of the loss     §16 patterns      by training progress
            (each reads only the context: they give one answer in any order)
  ------------ v --------------------------------------------------------------------------
  judging   verdict                          derived
            bounds, normalisation, bands,    values computed from several curves or
            judge(rule, Reading) -> Verdict  run facts, judged like metrics
  ------------ v --------------------------------------------------------------------------
  data      context                          shares   statistics   downsample
            one run: D, N, levels, shares    the levels' shares, the statistics of a
            up front, cached statistics      curve, bucket means for charts

Metrics, rules, bounds, aliases, branches and patterns are catalogue data (``catalog``):
adding one changes no module here, except a rule on a new statistic (a function in
``statistics``) and a derived quantity that needs code of its own (one in ``derived``).
"""

from .engine import diagnose, overall_status, summarize  # noqa: F401
