"""The one vocabulary of kinds shared by rules and the simulation: channel kinds, node kinds
and SKU classes. Scenario models, rule outcomes, lint domains and fuzzing all read them from
here, so a new kind is added in one place."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["ChannelKind", "NodeKind", "SkuClass", "CHANNEL_KINDS", "NODE_KINDS", "SKU_CLASSES"]

ChannelKind = Literal["web", "app", "marketplace", "store", "call_center", "b2b"]
NodeKind = Literal["dc", "store", "3pl", "dropship"]
SkuClass = Literal["A", "B", "C"]        # by popularity: A = top 80% of demand, B next 15%

CHANNEL_KINDS: tuple[str, ...] = get_args(ChannelKind)
NODE_KINDS: tuple[str, ...] = get_args(NodeKind)
SKU_CLASSES: tuple[str, ...] = get_args(SkuClass)
