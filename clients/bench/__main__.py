"""``python -m clients.bench`` / ``madoguchi-bench``: run scenarios, print a table, write JSON.

    python -m clients.bench lobby --quick                 # SQLite and PostgreSQL, small sizes
    python -m clients.bench lobby --full --db postgres    # the published figures
    python -m clients.bench all --quick --json out.json
    python -m clients.bench lobby --full --rounds 0 --opt issues=0 --soak-minutes 30

Exit status: 0 when it ran (and, with ``--strict``, every target was met), 1 when a target
was missed under ``--strict``, 2 on an error.
"""

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from clients.bench.runner import (
    DEFAULT_PG,
    KNOWN_SCENARIOS,
    BenchOptions,
    format_table,
    kill_children,
    results_json,
    run_scenarios,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="madoguchi-bench",
        description="Madoguchi benchmarks: each figure next to its baseline and target.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default="all",
        help=f"one of {', '.join(KNOWN_SCENARIOS)} or all (default)",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="quick",
        action="store_true",
        default=True,
        help="development sizes (default)",
    )
    size.add_argument(
        "--full", dest="quick", action="store_false", help="the sizes of the published figures"
    )
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres", "both"],
        help="database(s) to serve from (default: the scenario's choice)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per figure (median, min–max)")
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="add a soak of this length")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="PostgreSQL server, without database (scenarios create bench_* databases)",
    )
    parser.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scenario parameter, e.g. displays=500; env.MADOGUCHI_X=Y for the servers",
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument(
        "--workdir", type=Path, help="logs and SQLite files (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = list(KNOWN_SCENARIOS) if args.scenario == "all" else [args.scenario]
    params = {}
    for item in args.opt:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--opt {item!r}: expected NAME=VALUE")
        params[name.strip()] = value.strip()
    temporary = args.workdir is None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    options = BenchOptions(
        quick=args.quick,
        dbs=None
        if args.db is None
        else (["sqlite", "postgres"] if args.db == "both" else [args.db]),
        rounds=args.rounds,
        soak_minutes=args.soak_minutes,
        pg_url=args.pg_url,
        workdir=workdir,
        params=params,
        verbose=not args.quiet,
    )

    def terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    failed = True
    try:
        results, missing = asyncio.run(run_scenarios(names, options))
        failed = False
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    finally:
        kill_children()
        if temporary and not args.keep and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        elif temporary:
            print(f"work folder kept (logs): {workdir}", file=sys.stderr)
    print(format_table(results, missing))
    document = results_json(results, options, missing)
    # The rows on stdout, one line; --json adds every round's raw figures.
    print(
        json.dumps(
            {
                name: {"all_targets_met": s["all_targets_met"], "rows": s["rows"]}
                for name, s in document["scenarios"].items()
            },
            ensure_ascii=False,
            default=str,
        )
    )
    if args.json:
        args.json.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        print(f"JSON written to {args.json}", file=sys.stderr)
    missed = any(r.missed_targets() for r in results)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
