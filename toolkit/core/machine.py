"""What this machine is, for the records benchmarks and shipped graphs carry and for the defaults sized
to it: its CPU's model name and the flags that decide our speeds (VNNI and AMX for INT8), and the
memory a program may still take. Linux reads /proc and the cgroup's limit; elsewhere the platform
module's name, without flags, and no memory figure."""

from __future__ import annotations

import os
import platform
from pathlib import Path

INT8_DOT_PRODUCTS = ("avx512_vnni", "avx_vnni", "amx_int8", "avx_vnni_int8")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # BF16 dot products: what makes CPU training in BF16 pay


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


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def int8_kind() -> str:
    """Which of two kinds of x86 CPU this is for INT8 speed: with dot-product instructions (VNNI, AMX),
    an INT8 graph's convolutions run 2-4x FP32's on ONNX Runtime; without (AVX2 alone), the same graph
    can be slower than FP32. Speed-ups measured on one kind say nothing about the other."""
    return "int8 dot products" if cpu_flags(INT8_DOT_PRODUCTS) else "no int8 dot products"


def available_memory_mb() -> int | None:
    """Memory this process may still take, MB: the kernel's MemAvailable, or less where a container's
    cgroup (v2) limit leaves less; None where neither can be read."""
    figures = []
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        figures.append(int(meminfo["MemAvailable"].split()[0]) // 1024)
    except (OSError, KeyError, ValueError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            figures.append((int(limit) - int((cgroup / "memory.current").read_text())) // 2**20)
    except (OSError, ValueError):
        pass
    return min(figures) if figures else None


def process_memory_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (`VmRSS`) or its peak so far (`VmHWM`), MB, from
    /proc/self/status (Linux), whose peak is the process's own: getrusage's maxrss carries a forking
    parent's over into its child."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field + ":")).split()[1]) / 1024
