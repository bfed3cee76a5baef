"""Choosing where to compute: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch

from cnnviz.core.errors import CnnvizError

# What torch chose for this machine (the physical cores), before anyone changed it.
_DEFAULT_THREADS = torch.get_num_threads()


def set_cpu_threads(threads: int | None = None) -> None:
    """Threads for torch's CPU kernels in the *calling* thread (None: all cores).

    OpenMP keeps this setting per thread, so the app predicts on one thread
    in the GUI thread (one small image gains nothing from more, and a busy
    thread team turns 1 ms into 100+ ms) while a training thread uses all.
    Set it before a thread's first torch op: a thread that has run a team of
    several keeps those threads for life, and while more OpenMP threads exist
    than cores, libgomp makes every team sleep between ops (training in
    another thread then runs ~40 % slower).
    """
    torch.set_num_threads(threads or _DEFAULT_THREADS)


def available_devices() -> list[str]:
    """Devices this machine can train on, best first, always ending with 'cpu'."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """``'auto'`` picks the best available device; otherwise the named one, checked."""
    if name == "auto":
        return torch.device(available_devices()[0])
    if name.split(":")[0] not in available_devices():
        raise CnnvizError(
            f"Device '{name}' is not available here; choose one of: auto, {', '.join(available_devices())}."
        )
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """A human name for the status bar: 'CPU', 'CUDA (NVIDIA H100)', 'Apple MPS'."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"
