"""``domlab rules ...`` tools: validate (with lint), test, coverage, diff.

Every command returns an exit code: 0 success, 1 a
test failed, 2 bad input or a lint error.
"""

from __future__ import annotations

import json
import sys

from rules.schema import RuleError, load_ruleset

__all__ = ["cmd_validate", "cmd_test", "cmd_coverage", "cmd_diff"]


def _err(msg: str) -> None:
    print(f"domlab: error: {msg}", file=sys.stderr)


def cmd_validate(args) -> int:
    """Validate rule-set files (directories: every rule set under them) and lint them."""
    from rules.lab.lint import lint
    from rules.lab.testing import is_case_file, ruleset_files

    errors = warnings = 0
    for f in ruleset_files(args.files):
        if is_case_file(f):
            _err(f"{f}: a rule test file, not a rule set (run: domlab rules test {f})")
            errors += 1
            continue
        try:
            rs = load_ruleset(f)
        except RuleError as exc:
            _err(str(exc))
            errors += 1
            continue
        findings = lint(rs)
        n_err = sum(x.level == "error" for x in findings)
        n_warn = len(findings) - n_err
        errors += n_err
        warnings += n_warn
        n = len(rs.rules)
        head = f"{f}: rule set '{rs.name}' ({rs.point}, hit policy {rs.hit_policy}, " \
               f"{n} rule{'s' * (n != 1)})"
        if not findings:
            print(f"{head}: OK")
            continue
        counts = ", ".join(s for s in (f"{n_err} error{'s' * (n_err != 1)}" if n_err else "",
                                       f"{n_warn} warning{'s' * (n_warn != 1)}" if n_warn else "")
                           if s)
        print(f"{head}: {counts}")
        for x in findings:
            where = f"rule '{x.rule}'" if x.rule else "rule set"
            print(f"  {x.level}: {where}: {x.message}")
    return 2 if errors else 0


def cmd_test(args) -> int:
    """Run rule test files (``*.cases.yaml``; directories: every one under them)."""
    from rules.lab.testing import case_files, load_cases, run_cases

    files = case_files(args.paths)
    backends = tuple(args.backend) if args.backend else ("durable", "compiled")
    n_cases = n_failed = 0
    for f in files:
        result = run_cases(load_cases(f), backends)
        rs = result.ruleset
        n = len(result.results)
        if result.failed or not args.quiet:
            print(f"{f}: {rs.name} ({rs.point}, hit policy {rs.hit_policy}), "
                  f"{n} case{'s' * (n != 1)}")
        for r in result.results:
            if not r.passed:
                print(f"  FAIL  {r.name}: " + "; ".join(r.problems))
            elif not args.quiet:
                print(f"  pass  {r.name}")
        if result.untested_rules and not args.quiet:
            print(f"  note: no case exercises rule(s) {', '.join(result.untested_rules)}")
        n_cases += len(result.results)
        n_failed += result.failed
    verdict = "all passed" if not n_failed else f"{n_failed} FAILED"
    print(f"\n{n_cases} cases in {len(files)} files on {' and '.join(backends)}: {verdict}")
    return 1 if n_failed else 0


def cmd_coverage(args) -> int:
    """Rule coverage of a finished run directory."""
    from rules.lab.coverage import coverage_json, format_coverage, run_coverage

    covs = run_coverage(args.run_dir)
    if args.json:
        print(json.dumps(coverage_json(covs), indent=2))
    else:
        print(format_coverage(covs))
    return 0


def cmd_diff(args) -> int:
    """Run a scenario with rule set OLD and NEW at one point; compare decisions and KPIs."""
    from sim.experiments.rule_diff import diff_json, diff_rules, format_diff
    from sim.scenario import load_scenario

    overrides: dict = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.days is not None:
        overrides["horizon_days"] = args.days
    scenario = load_scenario(args.scenario, overrides)

    def progress(done: int, total: int, spec) -> None:
        if not args.json:
            print(f"  running replication {spec.labels['rep'] + 1}/{args.reps}: "
                  f"{spec.labels['side']} (seed {spec.scenario.seed})", file=sys.stderr,
                  flush=True)

    d = diff_rules(args.old, args.new, scenario, args.reps, args.engine, progress)
    if args.json:
        print(json.dumps(diff_json(d), indent=2))
    else:
        print(format_diff(d))
    return 0
