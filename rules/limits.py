"""Limits on untrusted input, in one place: bounded number and name types for the scenario and
rule-set models, and the size limits of the files they are read from.

Every model that reads a file sets ``FINITE`` (``allow_inf_nan=False``), so no float anywhere
may be NaN or ±Infinity; the types below add upper bounds where nothing real comes close, so
sums and products of them (revenue, costs, stock arrays) stay finite and within int64. A bound
is generous on purpose: it refuses input that would overflow or exhaust the machine, never a
plausible network.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

__all__ = [
    "FINITE", "MAX_COUNT", "MAX_MONEY", "MAX_RATE", "MAX_SEED", "MAX_PRIORITY", "MAX_NAME",
    "MAX_TEXT", "MAX_WEIGHT", "MAX_DIST", "MAX_PATH", "MAX_YAML_BYTES", "MAX_DATA_BYTES",
    "MAX_YAML_DEPTH", "MAX_YAML_NODES", "MAX_EXTENDS", "Name", "Text", "PathText", "Money",
    "Count", "PosCount", "Priority", "Seed", "Weight", "Share",
]

#: Model config shared by every input model: frozen, no unknown keys, finite floats only.
FINITE = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

MAX_COUNT = 1_000_000_000        # units, quantities, capacities, pickers × orders …
MAX_MONEY = 1e9                  # any price, cost or rate in $ (per unit, order, day …)
MAX_RATE = 1e6                   # things per day: orders, units, sales
MAX_SEED = 2**63 - 1             # seeds feed numpy's SeedSequence and int64 run tables
MAX_PRIORITY = 1_000_000         # node and rule priorities (durable-rules salience is an int)
MAX_WEIGHT = 1e12                # a relative weight (a metro's population …)
MAX_DIST = 1e6                   # any distribution parameter (days, hours, units, lines)
MAX_NAME = 100                   # characters of a name or id
MAX_TEXT = 10_000                # characters of a description
MAX_PATH = 4096                  # characters of a file path (Linux PATH_MAX)

MAX_YAML_BYTES = 5 * 2**20       # a scenario, base scenario, rule set or upload
MAX_DATA_BYTES = 50 * 2**20      # a table (CSV, workbook) or an order-history file
MAX_YAML_DEPTH = 64              # nesting levels of a YAML document
MAX_YAML_NODES = 1_000_000       # values of a YAML document with every alias expanded
MAX_EXTENDS = 20                 # ``extends:`` bases in one chain

def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("must be printable: no control characters or line breaks")
    return text


#: A name or id: 1–100 printable characters (no control characters, no line breaks).
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME),
                 AfterValidator(_printable)]
#: Free text (descriptions): at most 10,000 characters.
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
#: A file path or rule-set reference.
PathText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH,
                                            pattern=r"^[^\x00]+$")]
#: Money in $: 0 to a billion.
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
#: A whole count of things: 0 to a billion.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
#: A whole count of at least one.
PosCount = Annotated[int, Field(ge=1, le=MAX_COUNT)]
#: A priority (higher or lower first, as the field says): ±1,000,000.
Priority = Annotated[int, Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]
#: A random seed: 0 ≤ seed < 2**63.
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
#: A relative weight (profiles, popularity, population): 0 to 10**12.
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
#: A share or probability: 0 to 1.
Share = Annotated[float, Field(ge=0, le=1)]
