"""The arithmetic an encoder runs in: fp32, or bfloat16 autocast where the hardware has it.

bf16 runs the matrix products and convolutions in bfloat16 (torch.autocast)
and returns float32 unit vectors as always. It is offered on CUDA GPUs that
support it and on CPUs with AVX512-BF16 or AMX-BF16 instructions; elsewhere
autocast would emulate bfloat16 and run slower, so it is refused. A
collection records its precision (store/provenance.py): ingest never mixes
two, and a search embeds its query in the collection's.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path

from errors import RetrievalError

PRECISIONS = ("fp32", "bf16")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 instructions
CPUINFO = Path("/proc/cpuinfo")


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where /proc/cpuinfo is not readable."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return frozenset()
    return frozenset(
        flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()
    )


def precision_problem(precision: str, device: str) -> str | None:
    """Why `precision` cannot run on `device` ('cpu', 'cuda', 'cuda:1'), or None when it can."""
    if precision not in PRECISIONS:
        return f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}"
    if precision == "fp32":
        return None
    if device.startswith("cuda"):
        import torch

        return None if torch.cuda.is_bf16_supported() else "this GPU has no bfloat16 support"
    if device == "cpu":
        if cpu_flags() & set(CPU_BF16_FLAGS):
            return None
        return "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX-BF16); use fp32 or a CUDA GPU"
    return f"bf16 runs on cpu or cuda, not on '{device}'"


def check_precision(precision: str, device: str) -> None:
    """Refuse, in one line, a precision `device` cannot run."""
    problem = precision_problem(precision, device)
    if problem is not None:
        raise RetrievalError(f"--precision {precision}: {problem}")


def autocast(precision: str, device: str) -> AbstractContextManager:
    """The context a forward pass runs in: bfloat16 autocast for bf16, nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
