"""The GPU check's fourth part: the training step with and without CUDA's speed switches.

The core's loop has no switch for channels-last, bf16 autocast or
torch.compile, so the step is repeated here as a plain loop built from the
core's pieces (the same data on the device, model, optimizer, schedule, loss
and label smoothing as ``cnnviz.core.training.loop.train``), timed over a fixed
number of steps. ``fp32`` is the core's step as it is; each other variant
changes one thing (or two, ``channels_last+bf16``), so CUDA's defaults can be
chosen from the figures.

torch.compile runs in a subprocess (``python -m cnnviz.tools.gpu_check_variants
MODEL VARIANT DEVICE STEPS WARMUP CAP``): its compile time has no upper bound
one can set in-process, but a subprocess can be killed.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time

# name: what it changes. "cuda" ones only mean something on a CUDA device.
VARIANTS = {
    "fp32": "the core's step as it is",
    "tf32": "TF32 matmuls (torch.set_float32_matmul_precision('high')); cuDNN convolutions use TF32 already",
    "cudnn_benchmark": "torch.backends.cudnn.benchmark = True (cuDNN times its algorithms once per shape)",
    "channels_last": "model and batches in channels-last memory format",
    "bf16": "forward pass under torch.autocast(dtype=torch.bfloat16)",
    "channels_last+bf16": "both",
    "compile": "torch.compile(model), default mode (in a subprocess, capped)",
}
CUDA_ONLY = ("tf32", "cudnn_benchmark", "compile")


@contextlib.contextmanager
def _switches(variant: str):
    """Set the global switches a variant needs, and put them back after."""
    import torch

    precision, benchmark = torch.get_float32_matmul_precision(), torch.backends.cudnn.benchmark
    try:
        if variant == "tf32":
            torch.set_float32_matmul_precision("high")
        if variant == "cudnn_benchmark":
            torch.backends.cudnn.benchmark = True
        yield
    finally:
        torch.set_float32_matmul_precision(precision)
        torch.backends.cudnn.benchmark = benchmark


def step_rate(model_name: str, variant: str, device: str, steps: int, warmup: int, cap: float, data_dir=None) -> dict:
    """Images per second of ``steps`` training steps after ``warmup`` untimed ones (cut short at ``cap`` s)."""
    import torch
    import torch.nn.functional as F

    from cnnviz.core.data.datasets import load_split, to_float
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.training.device import set_cpu_threads
    from cnnviz.core.training.loop import TrainConfig, make_optimizer, make_schedule

    dev = torch.device(device)
    if dev.type == "cpu":
        set_cpu_threads(None)
    config = TrainConfig(model=model_name, device=device)
    channels_last = "channels_last" in variant
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(model_name, seed=0).to(dev, memory_format=memory_format).train()
    optimizer = make_optimizer(config, model.parameters())
    schedule = make_schedule(config, optimizer, warmup + steps)
    forward = torch.compile(model) if variant.startswith("compile") else model
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16) if "bf16" in variant else contextlib.nullcontext()
    train_x, train_y = load_split(config.dataset, True, data_dir, dev)
    order = torch.randperm(len(train_x), device=dev, generator=torch.Generator(device=dev).manual_seed(0))
    batches = len(train_x) // config.batch_size
    losses = []

    def step(i: int) -> None:
        index = order[(i % batches) * config.batch_size :][: config.batch_size]
        x, y = to_float(train_x[index]), train_y[index]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            scores = forward(x)
        loss = F.cross_entropy(scores.float(), y, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.detach())

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    with _switches(variant):
        started = time.perf_counter()
        for i in range(warmup):
            step(i)
        sync()
        warm = time.perf_counter()
        done = 0
        while done < steps and time.perf_counter() - warm < cap:
            step(warmup + done)
            done += 1
        sync()
        seconds = time.perf_counter() - warm
    final = [float(v) for v in torch.stack(losses[-5:]).cpu()]
    return {"model": model_name, "variant": variant, "device": device, "steps": done, "capped": done < steps,
            "images_per_second": round(done * config.batch_size / seconds) if done else None,
            "warmup_seconds": round(warm - started, 2), "last_losses_finite": all(map(math.isfinite, final))}  # fmt: skip


def part_variants(device: str, plan, data_dir, save, deadline) -> dict:
    """Every variant on each of ``plan.variant_models``; compile last, in a subprocess, while time is left."""
    from cnnviz.tools.gpu_check_parts import run_child

    cuda = device.startswith("cuda")
    part = {"status": "running", "device": device, "steps": plan.variant_steps, "warmup": plan.variant_warmup,
            "variants": VARIANTS, "images_per_second": {}, "runs": []}  # fmt: skip
    not_done = []
    eager = [v for v in VARIANTS if v != "compile" and (cuda or v not in CUDA_ONLY)]
    todo = [(m, v) for m in plan.variant_models for v in eager]
    todo += [(m, "compile") for m in plan.variant_models if cuda or plan.compile_on_cpu]
    for model_name, variant in todo:
        left = deadline() - 10
        if left < (45 if variant == "compile" else 5):
            not_done.append(f"{model_name} {variant}: out of time")
            continue
        try:
            if variant == "compile":
                cap = min(plan.compile_cap_s, left)
                command = [sys.executable, "-m", "cnnviz.tools.gpu_check_variants", model_name, variant, device,
                           str(plan.variant_steps), str(plan.variant_warmup), str(plan.variant_cap_s), str(data_dir)]  # fmt: skip
                run = run_child(command, cap, data_dir)
                lines = [ln for ln in run["stdout"].splitlines() if ln.startswith("{")]
                if not lines:
                    why = f"no result within {cap:.0f} s" if run["timed_out"] else f"exit code {run['exit_code']}"
                    raise RuntimeError(f"{why}: {(run['stdout'] + run['stderr'])[-1500:]}")
                result = {**json.loads(lines[-1]), "process_seconds": run["seconds"]}
            else:
                result = step_rate(model_name, variant, device, plan.variant_steps, plan.variant_warmup,
                                   min(plan.variant_cap_s, left), data_dir)  # fmt: skip
        except Exception as exc:  # a variant this torch or GPU cannot do is a finding, not the end
            result = {"model": model_name, "variant": variant, "error": f"{type(exc).__name__}: {exc}"[:2000]}
            not_done.append(f"{model_name} {variant}: {type(exc).__name__}")
        part["runs"].append(result)
        part["images_per_second"].setdefault(model_name, {})[variant] = result.get("images_per_second")
        save(part)
    for model_name, rates in part["images_per_second"].items():
        base = rates.get("fp32")
        if base:
            part.setdefault("speedup_over_fp32", {})[model_name] = {
                v: round(r / base, 2) for v, r in rates.items() if r and v != "fp32"
            }
    left_out = [v for v in CUDA_ONLY if not cuda and not (v == "compile" and plan.compile_on_cpu)]
    if left_out:
        part["note"] = f"on {device}: {', '.join(left_out)} are CUDA-only and were not run"
    part["status"] = "partial" if not_done else "ok"
    if not_done:
        part["not_done"] = not_done
    return part


if __name__ == "__main__":  # the compile subprocess: one JSON line on stdout
    name, variant, device, steps, warmup, cap, data_dir = sys.argv[1:8]
    print(json.dumps(step_rate(name, variant, device, int(steps), int(warmup), float(cap), data_dir)), flush=True)
