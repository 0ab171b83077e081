"""Fuzzing ``domlab run`` with generated scenario files and rule sets (``strategies``) judged by
``harness``; ``python -m tests.fuzz`` runs a thousand cases and prints a summary."""
