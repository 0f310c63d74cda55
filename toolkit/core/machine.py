"""What this machine's CPU is, for the records benchmarks and shipped graphs carry: its model name and
the flags that decide our speeds (VNNI and AMX for INT8). Linux reads /proc/cpuinfo; elsewhere the
platform module's name, without flags."""

from __future__ import annotations

import platform
from pathlib import Path

INT8_DOT_PRODUCTS = ("avx512_vnni", "avx_vnni", "amx_int8", "avx_vnni_int8")


def cpuinfo_field(name: str) -> str:
    """The first `name : value` line of /proc/cpuinfo; "" where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "")


def cpu_model() -> str:
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags(wanted: tuple[str, ...]) -> list[str]:
    """Those of `wanted` this CPU has, in the order given."""
    have = set(cpuinfo_field("flags").split())
    return [flag for flag in wanted if flag in have]
