"""The GPU check's first three parts: tests/gpu, time to 99 %, and the zoo on the GPU and the CPU.

Each part returns a plain dict for the JSON file and calls ``save`` after every
item, so a check killed part-way still leaves what it measured. Subprocesses
get the repository on ``PYTHONPATH`` (the GPU machine runs from a copy of the
repository, nothing installed) and unbuffered output (a timeout keeps what was
printed).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TAIL = 4000  # characters of a subprocess's output kept in the JSON


def child_env(data_dir) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", CNNVIZ_DATA_DIR=str(data_dir))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return env


def _kill_group(proc: subprocess.Popen) -> None:
    """End the child and whatever it started (torch.compile's workers), but nothing else."""
    try:
        os.killpg(proc.pid, signal.SIGKILL) if hasattr(os, "killpg") else proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def run_child(command: list[str], timeout: float, data_dir) -> dict:
    """Run ``command`` in a session of its own; its exit code (None on timeout), output and seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, env=child_env(data_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=max(timeout, 1))
        code = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        code = None
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a grandchild that left the group still holds the pipes
            out, err = "", "(output lost: the pipes stayed open after the kill)"
    except BaseException:  # SIGTERM or Ctrl+C of the check itself: leave no child behind
        _kill_group(proc)
        raise
    return {"exit_code": code, "timed_out": code is None, "seconds": round(time.perf_counter() - started, 2),
            "stdout": out, "stderr": err}  # fmt: skip


# -- 1. pytest tests/gpu ---------------------------------------------------------------------------


def _junit_counts(path: Path) -> dict:
    root = ElementTree.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    cases = {}
    for case in suite.iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        cases[f"{case.get('classname', '')}::{case.get('name')}"] = outcome
    return {"passed": n["tests"] - n["failures"] - n["errors"] - n["skipped"], "failed": n["failures"],
            "errors": n["errors"], "skipped": n["skipped"], "tests": cases}  # fmt: skip


def _summary_counts(text: str) -> dict:
    """Counts from pytest's last line ('3 passed, 1 skipped in 2.1s'), when no XML was written."""
    counts = {k: 0 for k in ("passed", "failed", "errors", "skipped")}
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", text):
        counts["errors" if word.startswith("error") else word] += int(number)
    return counts


def part_pytest(out_dir: Path, timeout: float, data_dir) -> dict:
    """``pytest tests/gpu`` in its own process: pass/fail counts per test, and the output's tail."""
    folder = REPO / "tests" / "gpu"
    if not folder.is_dir():
        return {"status": "skipped", "why": f"{folder} not found (run from a checkout)"}
    xml = out_dir / "pytest_gpu.xml"
    command = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider",
               "-p", "no:pytest-qt", f"--junitxml={xml}"]  # fmt: skip
    try:
        import pytest_timeout  # noqa: F401  # a stuck test fails with its traceback rather than a silent kill

        command.append(f"--timeout={min(60, max(int(timeout) - 10, 10))}")
    except ImportError:
        pass
    xml.unlink(missing_ok=True)
    run = run_child(command, timeout, data_dir)
    output = run["stdout"] + run["stderr"]
    counts = _junit_counts(xml) if xml.exists() and not run["timed_out"] else _summary_counts(output)
    passed = not run["timed_out"] and run["exit_code"] == 0
    return {"status": "ok" if passed else "failed", "command": " ".join(command), "exit_code": run["exit_code"],
            "timed_out": run["timed_out"], "seconds": run["seconds"], **counts, "output_tail": output[-TAIL:]}  # fmt: skip


# -- 2. cnnviz train: time to 99 % ------------------------------------------------------------------

_EPOCH = re.compile(r"epoch (\d+)/\d+: .*test loss [\d.]+ acc ([\d.]+)% \| ([\d.]+)s")
_REACHED = re.compile(
    r"reached ([\d.]+)% test accuracy ([\d.]+) s after process start, ([\d.]+) s after the first batch"
)


def train_one(seed: int, device: str, timeout: float, data_dir, batch_size: int | None = None) -> dict:
    """One ``cnnviz train --model lenet`` process with the one-epoch recipe (TrainConfig's defaults)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "cnnviz", "train", "--model", "lenet", "--device", device,
                   "--seed", str(seed), "--target-accuracy", "0.99", "--data-dir", str(data_dir),
                   "--out", str(Path(tmp) / "lenet.safetensors")]  # fmt: skip
        if batch_size:
            command += ["--batch-size", str(batch_size)]
        run = run_child(command, timeout, data_dir)
    out = run["stdout"]
    result = {"seed": seed, "exit_code": run["exit_code"], "timed_out": run["timed_out"],
              "process_seconds": run["seconds"], "reached_99": False}  # fmt: skip
    epochs = _EPOCH.findall(out)
    if epochs:
        _, accuracy, seconds = epochs[-1]
        result["final_test_accuracy"] = round(float(accuracy) / 100, 4)
        result["epoch_seconds"] = float(seconds)  # printed to 0.1 s: images/s to a few per cent
        result["images_per_second"] = round(60_000 / max(float(seconds), 0.05))  # MNIST's training set
    reached = _REACHED.search(out)
    if reached:
        result.update(reached_99=True, seconds_from_process_start=float(reached[2]),
                      seconds_from_first_batch=float(reached[3]))  # fmt: skip
    if run["exit_code"] != 0 or not epochs:
        result["output_tail"] = (out + run["stderr"])[-TAIL:]
    return result


def part_time_to_99(device: str, seeds, timeout: float, data_dir, save, deadline, batch_size=None) -> dict:
    """Seconds to 99.0 % test accuracy for each seed, from process start and from the first batch."""
    part = {"status": "running", "device": device, "recipe": "TrainConfig defaults (lenet, one epoch)",
            "runs": []}  # fmt: skip
    if batch_size:
        part["recipe"] += f", batch size {batch_size} (quick: the plumbing only)"
    for seed in seeds:
        left = deadline() - 5
        if left < 10:
            part["not_done"] = [f"seeds from {seed} on: out of time"]
            break
        part["runs"].append(train_one(seed, device, min(timeout, left), data_dir, batch_size))
        save(part)
    runs = part["runs"]
    reached = [r for r in runs if r["reached_99"]]
    part["seeds_reaching_99"] = f"{len(reached)} of {len(runs)}"
    if reached:
        for key in ("seconds_from_process_start", "seconds_from_first_batch"):
            part[f"median_{key}"] = sorted(r[key] for r in reached)[len(reached) // 2]
    part["status"] = "ok" if runs and all(r["exit_code"] == 0 for r in runs) else "failed"
    return part


# -- 3. the zoo, one epoch on the GPU; the same loop on the CPU ---------------------------------------


def _rates(reports, batch_size: int) -> float | None:
    """Images per second over the reports after the first (its batches include the warm-up)."""
    seconds = images = 0.0
    for stats in reports[1:]:
        n = stats.batches * batch_size
        images, seconds = images + n, seconds + n / stats.images_per_second
    return round(images / seconds) if seconds > 0 else None


def zoo_on_device(name: str, device: str, cap: float, data_dir, max_steps: int | None = None) -> dict:
    """One epoch of the default recipe with the core's loop; stopped after ``cap`` seconds."""
    import torch

    from cnnviz.core.data.datasets import load_split
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.training.loop import (
        BatchStats,
        EpochStats,
        TrainConfig,
        TrainControl,
        TrainingEnded,
        evaluate_loss_accuracy,
        train,
    )  # fmt: skip

    config = TrainConfig(model=name, device=device)
    model, control = build_model(name, seed=0), TrainControl()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    reports, result = [], {"model": name, "device": device}
    for event in train(config, model, control, data_dir, max_steps=max_steps):
        if isinstance(event, BatchStats):
            reports.append(event)
            if time.perf_counter() - started > cap and not control.stopped:
                control.stop()
        elif isinstance(event, EpochStats):
            images = reports[-1].step * config.batch_size  # the epoch's (or max_steps') batches, all timed
            result.update(test_accuracy=event.test_accuracy, epoch_seconds=round(event.seconds, 3),
                          epoch_images_per_second=round(images / max(event.seconds, 1e-9)))  # fmt: skip
        elif isinstance(event, TrainingEnded):
            result.update(end=event.reason, steps=reports[-1].step if reports else 0, seconds=round(event.seconds, 2))
            if event.reason != "completed":
                result["message"] = event.message
    # Without a second report (a run shorter than 1/30 s) the epoch's own rate stands in.
    result["images_per_second"] = _rates(reports, config.batch_size) or result.get("epoch_images_per_second")
    if "test_accuracy" not in result and result.get("steps"):  # stopped by the cap, or diverged and rolled back
        test_x, test_y = load_split(config.dataset, False, data_dir, device)
        result["test_accuracy_at_end"] = evaluate_loss_accuracy(model, test_x, test_y)[1]
    if device.startswith("cuda"):
        result["peak_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return result


def cpu_rate(name: str, batches: int, warmup: int, cap: float, data_dir) -> dict:
    """Images per second of the same loop on this machine's CPU cores, over a fixed number of batches."""
    import torch

    from cnnviz.core.training.loop import BatchStats, TrainConfig, TrainControl, train

    config, control = TrainConfig(model=name, device="cpu"), TrainControl()
    started, measured_from, reports = time.perf_counter(), None, []
    # Every batch reported (a read-back costs nothing on the CPU), so the clock starts after the warm-up exactly.
    for event in train(config, control=control, data_dir=data_dir, report_interval=0.0):
        if not isinstance(event, BatchStats):
            continue
        if event.step == warmup:
            measured_from = time.perf_counter()
        elif event.step > warmup:
            reports.append(event)
        if len(reports) >= batches or time.perf_counter() - started > cap:
            control.stop()  # stopped, not max_steps: no test-set evaluation, which costs more than the batches
    seconds = time.perf_counter() - measured_from if measured_from else None
    images = len(reports) * config.batch_size
    return {"model": name, "threads": torch.get_num_threads(), "batches": len(reports),
            "images_per_second": round(images / seconds) if seconds and images else None,
            "capped": len(reports) < batches}  # fmt: skip


def part_zoo(gpu: str | None, plan, data_dir, save, deadline) -> dict:
    """Every zoo network: one epoch on the GPU (images/s, accuracy), and images/s on the CPU."""
    from cnnviz.core.models.registry import list_models

    part = {"status": "running", "gpu_device": gpu, "recipe": "TrainConfig defaults, one epoch",
            "cpu_batches": plan.cpu_batches, "networks": {}}  # fmt: skip
    not_done = []

    def measure(name: str, column: str) -> dict:
        if column == "gpu":
            return zoo_on_device(name, gpu, min(plan.zoo_gpu_cap_s, deadline() - 20), data_dir, plan.zoo_max_steps)
        return cpu_rate(name, plan.cpu_batches, plan.cpu_warmup, min(plan.cpu_cap_s, deadline() - 20), data_dir)

    for spec in list_models():
        entry = part["networks"].setdefault(spec.name, {})
        for column in ("gpu", "cpu"):
            if column == "gpu" and gpu is None:
                entry[column] = {"skipped": "CUDA not available"}
            elif deadline() < 25:
                entry[column] = {"skipped": "out of time"}
                not_done.append(f"{spec.name} on the {column}: out of time")
            else:
                try:
                    entry[column] = measure(spec.name, column)
                except Exception as exc:  # one network's failure must not lose the others
                    entry[column] = {"error": f"{type(exc).__name__}: {exc}"}
                    not_done.append(f"{spec.name} on the {column}: {type(exc).__name__}: {exc}")
            save(part)
        gpu_ips, cpu_ips = entry["gpu"].get("images_per_second"), entry["cpu"].get("images_per_second")
        if gpu_ips and cpu_ips:
            entry["gpu_over_cpu"] = round(gpu_ips / cpu_ips, 1)
    part["status"] = "partial" if not_done else "ok"
    if not_done:
        part["not_done"] = not_done
    return part
