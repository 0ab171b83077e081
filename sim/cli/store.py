"""``domlab runs gc``: remove what writers killed mid-way left in a runs root."""

from __future__ import annotations

from sim.store.gc import collect

__all__ = ["cmd_runs_gc"]


def cmd_runs_gc(args) -> int:
    """Remove stale temporary run directories and files under ``--root`` (see
    ``sim.store.gc``: owner pid gone, or older than ``--max-age-hours``); ``--dry-run`` only
    lists them."""
    found = collect(args.root, args.max_age_hours * 3600.0, dry_run=args.dry_run)
    verb = {"removed": "would remove", "restored": "would restore"} if args.dry_run else {}
    for item in found:
        print(f"{verb.get(item.action, item.action)} {item.path} ({item.reason})")
    print(f"{len(found)} stale {'entry' if len(found) == 1 else 'entries'} under {args.root}")
    return 0
