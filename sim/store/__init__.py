"""Keeping results: atomic writes (``atomic``), run directories (``rundir``) and the run
registry (``registry``)."""
