"""Experiments over runs, one job per module: one run end to end (``runner``), where runs
execute (``executors``), run seeds and the one replication loop (``replication``), the
statistics (``stats``, backed by scipy.stats), paired comparisons and summaries
(``comparison``), batch means of one long run (``batches``), parameter sweeps (``sweeps``),
rule-set diffs (``rule_diff``), the CI regression check (``check``) and the offline optimum in
runs, replications and checks (``optimum``)."""

#: Names accepted by ``executors.make_executor`` (and ``--executor``); here, not in
#: ``executors``, so the CLI parser can list them without importing tqdm and multiprocessing.
EXECUTORS = ("inprocess", "process", "dask")
