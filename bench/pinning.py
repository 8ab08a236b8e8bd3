"""`--pin SERVER:WRK` for the benchmarks: each side on CPUs of its own.

On a 2-core machine wrk's own CPU per request (~35 µs) shares the cores with
the server and caps the req/s ratio any server can show; pinned with
`taskset -c`, each side has a core of its own and req/s follows the server's
CPU per request. bench/run.py and bench/hooks.py share this.
"""

from __future__ import annotations

import argparse
import re

HELP = ("taskset CPU lists for the server and for wrk, e.g. 1:0: each has cores of its "
        "own, so wrk's CPU no longer caps the ratio (off by default)")

_CPUS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def pin_spec(value: str) -> tuple[str, str]:
    """Parse `S:W` into (server CPUs, wrk CPUs), as argparse's `type`."""
    server, sep, wrk = value.partition(":")
    if not sep or not _CPUS.match(server) or not _CPUS.match(wrk):
        raise argparse.ArgumentTypeError(f"--pin wants SERVER:WRK CPU lists such as 1:0, not {value!r}")
    return server, wrk


def add_pin_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--pin", default=None, type=pin_spec, metavar="SERVER:WRK", help=HELP)


def taskset(cpus: str | None) -> list[str]:
    """The command prefix that runs a program on `cpus` (nothing if None)."""
    return ["taskset", "-c", cpus] if cpus else []


def server_cpus(pin: tuple[str, str] | None) -> str | None:
    return pin[0] if pin else None


def wrk_cpus(pin: tuple[str, str] | None) -> str | None:
    return pin[1] if pin else None
