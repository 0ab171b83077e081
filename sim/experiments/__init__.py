"""Experiments over runs: one run end to end (``runner``), replications, comparisons and sweeps
(``experiment``), where runs execute (``executors``), rule-set diffs (``rule_diff``) and the CI
regression check (``check``)."""
