"""The GPU check: one prepared run that proves the training loop on a CUDA GPU and measures it.

Run ``python -m cnnviz.tools.gpu_check [--out DIR] [--quick] [--data-dir DIR]``
from the repository root (``PYTHONPATH=.`` where nothing is installed). It
needs only the core's dependencies (torch, torchvision, numpy, safetensors,
tqdm, pytest), and fits in about five minutes on one GPU:

1. ``pytest tests/gpu`` in a subprocess: pass/fail per test; then the sync
   count: read-backs per batch and any other host synchronisation in the loop.
2. ``cnnviz train --model lenet --device cuda`` (the one-epoch recipe) for
   seeds 0, 1, 2: seconds to 99.0 % test accuracy from process start and from
   the first batch, images per second, final accuracy.
3. Every zoo network, one epoch on the GPU (images/s, accuracy), and the same
   loop's images/s on the machine's CPU cores over a fixed number of batches.
4. The training step in fp32 and with TF32, cuDNN benchmark, channels-last,
   bf16 autocast, both, and torch.compile (time permitting) on a couple of
   networks: the figures to choose CUDA's defaults from.

Everything goes to ``DIR/gpu_check.json``, rewritten after every item so a
killed run keeps what it measured, and a short table to ``DIR/gpu_check.txt``
(printed last). Each part is capped by the time left, and a part that fails
is recorded without stopping the others. Without CUDA it says so, runs the CPU
parts in their quick form and exits 0; ``--device cpu`` also runs the GPU
parts on the CPU, to try their code paths.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Plan:
    """Sizes and time caps (seconds). The whole check ends by ``budget_s``; later parts get what is left."""

    budget_s: float = 285.0
    pytest_timeout_s: float = 120.0  # each test: at most 60 (pytest-timeout, where installed)
    seeds: tuple[int, ...] = (0, 1, 2)
    train_timeout_s: float = 60.0  # per `cnnviz train` process
    train_batch_size: int | None = None  # None: the recipe's
    zoo_gpu_cap_s: float = 20.0  # per network: one epoch, or stopped after this long
    zoo_max_steps: int | None = None  # None: one epoch
    cpu_batches: int = 40
    cpu_warmup: int = 5
    cpu_cap_s: float = 10.0  # per network
    sync_steps: int = 300  # batches in the sync count
    variant_models: tuple[str, ...] = ("lenet", "resnet")
    variant_steps: int = 300
    variant_warmup: int = 30
    variant_cap_s: float = 8.0  # per variant, after its warm-up
    compile_cap_s: float = 100.0  # per compiled network, compile included
    compile_on_cpu: bool = False


FULL = Plan()
# Seconds, not minutes: the plumbing of every part, with figures too small to mean much.
QUICK = Plan(budget_s=120.0, pytest_timeout_s=90.0, seeds=(0,), train_timeout_s=90.0, train_batch_size=6000,
             zoo_gpu_cap_s=5.0, zoo_max_steps=3, cpu_batches=2, cpu_warmup=1, cpu_cap_s=5.0,
             sync_steps=20, variant_models=("lenet",), variant_steps=3, variant_warmup=1, variant_cap_s=5.0, compile_cap_s=90.0)  # fmt: skip
PARTS = ("pytest", "syncs", "train", "zoo", "variants")


class Report:
    """The JSON file, rewritten whole (atomically) after every item."""

    def __init__(self, path: Path, started: float) -> None:
        self.path, self.started = path, started
        self.data: dict = {"tool": "cnnviz.tools.gpu_check", "finished": False, "parts": {}, "not_done": []}

    def save(self) -> None:
        self.data["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        os.replace(tmp, self.path)

    def part(self, name: str, value: dict) -> None:
        self.data["parts"][name] = value
        self.save()


def environment() -> dict:
    import torch

    env = {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
           "cuda_available": torch.cuda.is_available(), "cuda_version": torch.version.cuda,
           "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads()}  # fmt: skip
    for name in ("torchvision", "numpy", "safetensors", "triton"):
        try:
            env[name] = __import__(name).__version__
        except Exception:  # triton is optional (torch.compile on CUDA needs it)
            env[name] = None
    if env["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        env.update(gpu_name=props.name, gpu_count=torch.cuda.device_count(),
                   gpu_memory_gib=round(props.total_memory / 2**30, 1), gpu_capability=f"{props.major}.{props.minor}",
                   bf16_supported=torch.cuda.is_bf16_supported())  # fmt: skip
    return env


def _data_dir(given: str | None) -> Path:
    if given or os.environ.get("CNNVIZ_DATA_DIR"):
        return Path(given or os.environ["CNNVIZ_DATA_DIR"]).expanduser()
    try:
        from cnnviz.core.data.datasets import default_data_dir

        return default_data_dir()
    except ImportError:  # platformdirs, absent on a bare GPU machine
        sys.exit("gpu_check: set CNNVIZ_DATA_DIR or pass --data-dir (the folder holding MNIST/raw)")


class _Terminated(Exception):
    """SIGTERM (a timeout's kill): stop, but write the summary of what was done."""


def _on_term(signum, frame):
    raise _Terminated()


def run(args, started: float) -> dict:
    out = Path(args.out).resolve()  # the pytest child runs in the repository's root
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out / "gpu_check.json", started)
    import torch

    from cnnviz.core.data.datasets import load_split
    from cnnviz.core.errors import CnnvizError

    cuda = torch.cuda.is_available()
    statement = ("cuda available: true" if cuda else
                 "cuda available: false (CUDA not available: the GPU parts are skipped and the CPU parts "
                 "run in their quick form)")  # fmt: skip
    print(f"gpu_check: {statement}", flush=True)
    plan = QUICK if args.quick or not cuda else FULL
    plan = replace(plan, budget_s=args.budget or plan.budget_s)
    gpu = args.device or ("cuda" if cuda else None)  # where the GPU parts run; None: skipped
    data_dir = _data_dir(args.data_dir)
    deadline = lambda: plan.budget_s - (time.perf_counter() - started)  # noqa: E731  # seconds left
    report.data.update(cuda_available=cuda, statement=statement, gpu_parts_device=gpu, quick=plan is not FULL,
                       data_dir=str(data_dir), plan=asdict(plan), command=" ".join(sys.argv))  # fmt: skip
    report.data["environment"] = environment()
    try:  # read once here; the parts run in this process find it in memory
        load_split("mnist", True, data_dir), load_split("mnist", False, data_dir)
        data_error = None
    except CnnvizError as exc:
        data_error = report.data["data_error"] = f"MNIST could not be read: {exc}"
        print(f"gpu_check: {data_error}", flush=True)
    report.save()
    from cnnviz.tools.gpu_check_parts import part_pytest, part_time_to_99, part_zoo
    from cnnviz.tools.gpu_check_syncs import part_syncs
    from cnnviz.tools.gpu_check_variants import part_variants

    def saver(name):
        return lambda value: report.part(name, value)

    steps = {
        "pytest": lambda: part_pytest(out, min(plan.pytest_timeout_s, deadline() - 10), data_dir),
        "syncs": lambda: part_syncs(gpu or "cpu", data_dir, plan.sync_steps),
        "train": lambda: part_time_to_99(
            gpu, plan.seeds, plan.train_timeout_s, data_dir, saver("train"), deadline, plan.train_batch_size
        ),  # fmt: skip
        "zoo": lambda: part_zoo(gpu, plan, data_dir, saver("zoo"), deadline),
        "variants": lambda: part_variants(gpu or "cpu", plan, data_dir, saver("variants"), deadline),
    }
    for number, name in enumerate(PARTS, 1):
        part_started = time.perf_counter()
        print(f"[{number}/{len(PARTS)}] {name} ({deadline():.0f} s left)", flush=True)
        if name in args.skip:
            value = {"status": "skipped", "why": "--skip"}
        elif gpu is None and name == "train":
            value = {"status": "skipped", "why": "CUDA not available"}
        elif data_error and name != "pytest":
            value = {"status": "skipped", "why": "MNIST could not be read (see data_error)"}
        elif deadline() < 15:
            value = {"status": "skipped", "why": "out of time"}
        else:
            try:
                value = steps[name]()
            except _Terminated:
                report.data["not_done"].append(f"{name}: terminated")
                report.save()
                raise
            except Exception as exc:  # one part's failure must not lose the others
                value = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                         "traceback": traceback.format_exc()[-3000:]}  # fmt: skip
        value["part_seconds"] = round(time.perf_counter() - part_started, 1)
        print(f"      {value['status']} in {value['part_seconds']} s", flush=True)
        if value["status"] != "ok":
            report.data["not_done"].append(f"{name}: {value['status']} ({value.get('why') or value.get('error', '')})")
        report.part(name, value)
    report.data["finished"] = True
    report.save()
    return report.data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.tools.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-check", help="folder for gpu_check.json and gpu_check.txt")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: the plumbing in seconds (implied without CUDA)"
    )
    parser.add_argument("--data-dir", help="the folder holding MNIST/raw (default: $CNNVIZ_DATA_DIR)")
    parser.add_argument("--device", help="where the GPU parts run (default: cuda; cpu tries their code paths)")
    parser.add_argument("--budget", type=float, help="seconds for the whole check (default: 285, quick: 120)")
    parser.add_argument("--skip", nargs="*", default=(), choices=PARTS, help="parts to leave out")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from cnnviz.tools.gpu_check_summary import summary

    previous = signal.signal(signal.SIGTERM, _on_term) if _main_thread() else None
    data: dict = {}
    try:
        data = run(args, started)
    except (_Terminated, KeyboardInterrupt):
        print("gpu_check: interrupted; the JSON holds what was done", file=sys.stderr)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    path = Path(args.out) / "gpu_check.json"
    if not data and path.exists():
        data = json.loads(path.read_text())
    text = summary(data)
    (Path(args.out) / "gpu_check.txt").write_text(text)
    print(text, flush=True)
    return 0


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
