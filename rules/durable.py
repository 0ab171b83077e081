"""Reference backend: rule conditions evaluated by durable-rules.

durable-rules keeps rule sets in a process-wide host whose threads never stop and which cannot
unregister a rule set (see shared DURABLE_RULES.md). So this module owns **one host per
process**, registers each rule-set *version* once under a name carrying its content hash, and
gives every backend instance its own session id, deleted on ``close``. Runs in one process
therefore never see each other's state. The host starts no background threads (see ``_run``).

``first`` posts an event (consumed by the single highest-priority match); ``collect``/``merge``
assert a fact (every match fires in priority order) and retract it again. Nothing is left in the
session between decisions, so a rule set's matches are a function of the values of the fields
its conditions read: each backend remembers the matches per such *fact signature* and asks
durable-rules once per distinct signature (a run's split rules see ~4,200 signatures in 23,000
decisions, its sourcing and carrier rules fewer than ten).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from typing import Any

from rules.lab.lint import durable_safe
from rules.schema import Cond, RuleError, RuleSet, fields_read

__all__ = ["DurableBackend", "to_durable_json"]

_DURABLE_OPS = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "neq": "$neq"}


def to_durable_json(cond: Cond, point: str) -> dict[str, Any]:
    """Translate a condition tree into durable-rules' JSON expression language."""
    if cond.kind == "true":
        return {"point": point}              # every posted fact carries its point name
    if cond.kind == "and":
        return {"$and": [to_durable_json(c, point) for c in cond.args]}
    if cond.kind == "or":
        return {"$or": [to_durable_json(c, point) for c in cond.args]}
    if cond.op == "eq":
        return {cond.field: cond.value}
    return {_DURABLE_OPS[cond.op]: {cond.field: cond.value}}


class _Slot(threading.local):
    def __init__(self):
        self.hits: list[int] = []


_SLOT = _Slot()
_NO_MATCH = -1
_ABSENT = object()                       # a field the facts lack (never sent)
#: Fact signatures a backend remembers before it starts over (a few MB at most).
MEMO_LIMIT = 20_000
_LOCK = threading.Lock()
_HOST = None
_REGISTERED: dict[str, str] = {}
_SESSIONS = itertools.count()


def _recorder(index: int):
    # durable-rules passes a completion callback to actions taking two parameters: take one.
    def record(c):
        _SLOT.hits.append(index)
    return record


def _host():
    global _HOST
    if _HOST is None:
        from durable import engine

        class _Host(engine.Host):
            """Binds each rule's action name to a recorder of the rule's index."""

            def _run(self):
                """Start no dispatcher/timer threads. durable-rules' background dispatcher
                otherwise races ``post`` for pending actions and sometimes runs a rule's action
                on its own thread after ``post`` returned (measured: a no-match every few
                thousand posts inside a SimPy run). We use neither timers nor queued messages,
                so every action then runs synchronously inside ``post``/``assert_fact``."""

            def get_action(self, action_name):
                return _recorder(int(action_name.rsplit("#", 1)[1]))

        _HOST = _Host()
    return _HOST


def _register(rs: RuleSet) -> str:
    with _LOCK:
        name = _REGISTERED.get(rs.key)
        if name is None:
            name = "domlab_" + re.sub(r"[^A-Za-z0-9_]", "_", rs.key)
            definition = {
                f"r{i}": {"all": [{"m": to_durable_json(rule.when, rs.point)}],
                          "pri": i, "run": f"{name}#{i}"}
                for i, rule in enumerate(rs.rules)
            }
            # A catch-all below every rule, so no post is ever unhandled: deleting a session
            # after an unhandled post crashes durable-rules (measured: SIGSEGV in delete_state).
            definition["nomatch"] = {"all": [{"m": {"point": rs.point}}],
                                     "pri": len(rs.rules), "run": f"{name}#{_NO_MATCH}"}
            _host().register_rulesets({name: definition})
            _REGISTERED[rs.key] = name
        return name


_FIELDS: dict[str, tuple[str, ...]] = {}


def _fields(rs: RuleSet) -> tuple[str, ...]:
    """The fact fields the conditions of ``rs`` read, sorted (``sid``/``id``/``point`` are set
    by ``matches`` itself)."""
    fields = _FIELDS.get(rs.key)
    if fields is None:
        fields = _FIELDS[rs.key] = tuple(f for f in fields_read(rs)
                                         if f not in ("sid", "id", "point"))
    return fields


class DurableBackend:
    """Matches rules with durable-rules, in a session private to this backend."""

    def __init__(self):
        self.sid = f"p{os.getpid()}s{next(_SESSIONS)}"
        self._ids = itertools.count()
        self._used: set[str] = set()
        #: (rule-set name, first_only, types and values of the fields read) → matching indices
        self._memo: dict[tuple, list[int]] = {}
        self.posted = 0                  # decisions durable-rules evaluated (memo misses)

    def matches(self, ruleset: RuleSet, facts: dict[str, Any], first_only: bool) -> list[int]:
        """Indices of matching rules in evaluation order (only the first for ``first_only``)."""
        name = _register(ruleset)
        # Only the fields some condition reads are sent (matching cannot depend on the others:
        # the host serialises and parses every field of every message). Types are part of the
        # signature: durable-rules tells true from 1, which compare equal in Python.
        fields = _fields(ruleset)
        values = [facts.get(f, _ABSENT) for f in fields]
        signature = (name, first_only, *map(type, values), *values)
        hits = self._memo.get(signature)
        if hits is None:
            if len(self._memo) >= MEMO_LIMIT:      # bounded: fact values may never repeat
                self._memo.clear()
            hits = self._memo[signature] = self._post(name, ruleset, facts, fields, first_only)
        return list(hits)

    def _post(self, name: str, ruleset: RuleSet, facts: dict[str, Any],
              fields: tuple[str, ...], first_only: bool) -> list[int]:
        """Ask durable-rules which rules of ``ruleset`` match ``facts``."""
        message = {k: facts[k] for k in fields if k in facts}
        bad = next((k for k, v in message.items() if not durable_safe(v)), None)
        if bad is not None:
            raise RuleError(f"{ruleset.source}: fact {bad}={facts[bad]!r} cannot be sent to "
                            f"durable-rules (it rejects numbers written like 1e-05 and "
                            f"non-finite numbers); round the fact or use --engine compiled")
        self.posted += 1
        message.update(sid=self.sid, id=next(self._ids), point=ruleset.point)
        host = _host()
        _SLOT.hits = hits = []
        if first_only:
            host.post(name, message)
            self._used.add(name)             # a session exists once a post succeeded
            return [] if hits[0] == _NO_MATCH else hits[:1]
        host.assert_fact(name, message)
        self._used.add(name)
        host.retract_fact(name, message)
        return sorted(set(hits) - {_NO_MATCH})

    def close(self) -> None:
        """Delete this backend's sessions so the host stays under its session limit."""
        host = _host() if self._used else None
        for name in self._used:
            host.delete_state(name, self.sid)
        self._used.clear()
