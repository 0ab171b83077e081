"""YAML parsing for untrusted files: PyYAML's safe loader with limits on nesting, alias
expansion and number length, each refusal naming the field path where it happened.

PyYAML's safe loader builds no objects but plain data, yet a small document can still exhaust
the machine: a billion-laughs alias bomb expands to billions of values (and a walk over it
never ends), a recursive alias (``&a [*a]``) to an infinite one, 600 nested brackets overflow
the composer's recursion, and a 5,000-digit integer overflows Python's int parsing. The loader
composes the document's node graph (aliases are shared nodes, so composing costs what the text
costs), counts its depth as it goes, then measures the graph as if every alias were expanded
(each node once, memoised) before anything is constructed.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.limits import MAX_YAML_DEPTH, MAX_YAML_NODES

__all__ = ["YamlLimitError", "parse_yaml", "MAX_NUMBER_CHARS"]

#: Longest number (characters) a document may spell; any field takes at most 2**63.
MAX_NUMBER_CHARS = 100
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class YamlLimitError(yaml.YAMLError):
    """A document exceeds a limit; ``loc`` is the field path, ``problem`` what is wrong."""

    def __init__(self, loc: tuple, problem: str, mark: yaml.Mark | None = None):
        super().__init__(problem)
        self.loc, self.problem, self.problem_mark = loc, problem, mark


def _part(parent: Node | None, index: Any) -> Any:
    """The field-path part of a node composed under ``parent`` at ``index``."""
    if isinstance(index, ScalarNode):
        return index.value
    if isinstance(index, int):
        return index
    return "(key)" if parent is not None else None


def _children(node: Node) -> list[tuple[Any, Node]]:
    """(path part, child) of a collection node; keys count as values too."""
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, MappingNode):
        out: list[tuple[Any, Node]] = []
        for k, v in node.value:
            out += [("(key)", k), (k.value if isinstance(k, ScalarNode) else "(key)", v)]
        return out
    return []


class _LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents beyond the limits (see the module)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._path: list[Any] = []
        self._aliased: set[int] = set()

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML's hook
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._aliased.add(id(node))
            return node
        part = _part(parent, index)
        if part is not None:
            self._path.append(part)
        try:
            if len(self._path) >= MAX_YAML_DEPTH:
                raise YamlLimitError(tuple(self._path), f"nested deeper than {MAX_YAML_DEPTH} "
                                     "levels", self.peek_event().start_mark)
            node = super().compose_node(parent, index)
            if isinstance(node, ScalarNode) and node.tag in (_INT_TAG, _FLOAT_TAG) and \
                    len(node.value) > MAX_NUMBER_CHARS:
                raise YamlLimitError(tuple(self._path), f"a number of {len(node.value):,} "
                                     f"characters (at most {MAX_NUMBER_CHARS})",
                                     node.start_mark)
            return node
        finally:
            if part is not None:
                self._path.pop()

    def construct_object(self, node, deep=False):  # noqa: D102 - PyYAML's hook
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:   # a date like 2026-13-45
            raise yaml.constructor.ConstructorError(None, None, str(exc),
                                                    node.start_mark) from None

    def compose_document(self):  # noqa: D102 - PyYAML's hook
        node = super().compose_document()
        _Measure(node, self._aliased).check()
        return node


class _Measure:
    """Size and depth of a node graph with every alias expanded, each node visited once."""

    def __init__(self, root: Node, aliased: set[int]):
        self.root, self.aliased = root, aliased
        self.size: dict[int, int] = {}
        self.depth: dict[int, int] = {}
        self.via: dict[int, tuple[Node, Any]] = {}     # first parent of each node, and part

    def check(self) -> None:
        """Raise ``YamlLimitError`` for a recursive alias or a document too big or too deep
        once aliases are expanded."""
        self._walk()
        root = id(self.root)
        if self.size[root] > MAX_YAML_NODES:
            node = self._descend(lambda c: self.size[id(c)] > MAX_YAML_NODES)
            raise YamlLimitError(self._path(node), "aliases expand to more than "
                                 f"{MAX_YAML_NODES:,} values", node.start_mark)
        if self.depth[root] > MAX_YAML_DEPTH:
            node = self._descend(lambda c: True, key=lambda c: self.depth[id(c)])
            raise YamlLimitError(self._path(node), "aliases nest deeper than "
                                 f"{MAX_YAML_DEPTH} levels", node.start_mark)

    def _walk(self) -> None:
        """Post-order walk filling ``size``/``depth`` (iterative: no recursion limit)."""
        state: dict[int, int] = {}                     # 1 being walked, 2 done
        stack: list[tuple[Node, bool]] = [(self.root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            kids = _children(node)
            if done:
                self.size[key] = 1 + sum(self.size[id(c)] for _, c in kids)
                self.depth[key] = 1 + max((self.depth[id(c)] for _, c in kids), default=0)
                state[key] = 2
                continue
            if state.get(key) == 2:
                continue
            state[key] = 1
            stack.append((node, True))
            for part, child in kids:
                if state.get(id(child)) == 1:
                    raise YamlLimitError((*self._path(node), part), "a recursive alias (it "
                                         "contains itself)", child.start_mark)
                self.via.setdefault(id(child), (node, part))
                stack.append((child, False))

    def _descend(self, keep, key=None) -> Node:
        """From the root, follow the child that ``keep`` accepts (the largest by ``key``)
        while the path stays out of aliases: the node to blame."""
        node = self.root
        while True:
            kids = [c for _, c in _children(node) if keep(c)]
            if key is not None:
                kids = sorted(kids, key=key, reverse=True)[:1]
            kids = [c for c in kids if id(c) not in self.aliased and
                    (key is None or key(c) > 1)]
            if not kids:
                return node
            node = kids[0]

    def _path(self, node: Node) -> tuple:
        parts: list[Any] = []
        while id(node) in self.via:
            node, part = self.via[id(node)]
            parts.append(part)
        return tuple(reversed(parts))


def parse_yaml(text: str) -> Any:
    """The data of a YAML document (safe: plain data only), or ``yaml.YAMLError``; limit
    breaches are ``YamlLimitError`` with the field path."""
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
