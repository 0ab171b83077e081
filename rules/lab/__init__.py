"""The rules lab: lint (``lint``), rule test cases (``testing``), random rule sets and facts for
differential testing (``fuzz``) and rule coverage of a run (``coverage``)."""
