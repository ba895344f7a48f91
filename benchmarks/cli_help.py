"""Wall time of ``dsei --help`` (the issue's target: ≤ 1 s) and of ``dsei <command> --help``, best of ``--repeat``
fresh interpreters, with the modules each one imported.

The anchor, measured in the same run, is a fresh interpreter that imports typer and rich (what any command line
built with them costs): the ratio to it is what carries over to other machines.

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/cli_help.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

ANCHOR = "import typer, rich.console, rich.table"
HELP = "import contextlib, io\nfrom dsei.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    main({args!r})"


def best_s(code: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    anchor = best_s(ANCHOR, args.repeat)
    print(f"anchor (python + typer + rich): {anchor:.3f} s")
    for cmd in ([], ["elastic"], ["barrier"], ["design"], ["screen"]):
        t = best_s(HELP.format(args=[*cmd, "--help"]), args.repeat)
        print(f"dsei {' '.join(cmd + ['--help']):<18} {t:.3f} s  ({t / anchor:.2f} x anchor)")


if __name__ == "__main__":
    main()
