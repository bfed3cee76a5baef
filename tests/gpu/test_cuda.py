"""What only a CUDA GPU can show; skipped on machines without one, and nowhere else.

``python -m cnnviz.tools.gpu_check`` runs these on a GPU machine and records the result.
"""

import threading
import time
import warnings

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CUDA = torch.device("cuda")


def test_lenet5_fixed_tensors_follow_the_model_to_the_gpu():
    from cnnviz.core.models.registry import build_model

    model = build_model("lenet5", seed=0).to(CUDA)
    assert model.c3.mask.device.type == "cuda" and model.c3.connection_table.device.type == "cuda"
    assert model.output.centres.device.type == "cuda"
    x = torch.rand(4, 1, 28, 28)
    on_gpu = model(x.to(CUDA)).cpu()
    on_cpu = model.cpu()(x)
    assert torch.allclose(on_gpu, on_cpu, atol=1e-4)


@pytest.mark.parametrize("mirror", [False, True])
def test_augmentation_runs_on_the_gpu_with_a_gpu_generator(mirror):
    from cnnviz.core.data.augment import Augmentation

    x = torch.rand(64, 1, 28, 28, device=CUDA)
    aug = Augmentation.from_flags(affine=True, mirror=mirror)
    a = aug(x, torch.Generator(device=CUDA).manual_seed(3))
    b = aug(x, torch.Generator(device=CUDA).manual_seed(3))
    assert a.device.type == "cuda" and torch.equal(a, b) and not torch.equal(a, x)


def test_checkpoint_saved_from_gpu_tensors_loads_on_the_cpu(tmp_path):
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.weights.checkpoint import build_metadata, load_checkpoint, save_checkpoint

    model = build_model("lenet5", seed=0).to(CUDA)
    path = save_checkpoint(tmp_path / "w.safetensors", model, build_metadata("lenet5", model, dataset="mnist"))
    loaded, _ = load_checkpoint(path, "lenet5")
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert b.device.type == "cpu" and torch.equal(a.cpu(), b), k


@pytest.mark.parametrize("model_name", ["lenet", "lenet5"])
def test_training_on_cuda_reads_back_once_per_report(data_dir, monkeypatch, model_name):
    from cnnviz.core.training import loop as training
    from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, train

    reads = []
    monkeypatch.setattr(training, "_read_back", lambda v, _r=training._read_back: reads.append(1) or _r(v))
    config = TrainConfig(model=model_name, device="cuda", augment=True)
    events = list(train(config, data_dir=data_dir, report_interval=3600.0, max_steps=100))
    assert events[-1].reason == "completed" and events[-1].device.startswith("cuda")
    reports = [e for e in events if isinstance(e, BatchStats)]
    assert len(reads) <= len(reports) + sum(isinstance(e, EpochStats) for e in events)


def test_cli_trains_on_cuda_and_saves_a_loadable_file(tmp_path, data_dir):
    from cnnviz.cli.commands import main
    from cnnviz.core.weights.checkpoint import load_checkpoint

    out = tmp_path / "w.safetensors"
    assert main(["train", "--device", "cuda", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    _, meta = load_checkpoint(out, "lenet")
    assert meta["device"].startswith("cuda") and meta["test_accuracy"] > 0.98


def test_a_training_thread_pauses_resumes_and_stops_on_cuda_without_hidden_syncs(data_dir, monkeypatch):
    """The generator driven as the app's worker drives it (cnnviz/qt/training_worker.py), without Qt.

    A plain thread runs it; the main thread pauses, resumes and stops it through
    ``TrainControl``; a CPU copy of the weights is taken after every report. Once
    the run is under way, CUDA's sync debug mode flags any host synchronisation
    inside the loop other than ``_read_back``, once per report or evaluation.
    """
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.session.session import copy_weights
    from cnnviz.core.training import loop as training
    from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, TrainControl, TrainingEnded, train

    reads = []
    read_back = training._read_back

    def allowed_read_back(values):  # the loop's one sanctioned sync, exempt from the debug mode
        reads.append(1)
        mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode(0)
        try:
            return read_back(values)
        finally:
            torch.cuda.set_sync_debug_mode(mode)

    monkeypatch.setattr(training, "_read_back", allowed_read_back)
    events, copies, pauses, syncs, errors = [], [], [], [], []

    class Control(TrainControl):  # as the worker's _ReportingControl: told just before the loop blocks
        def wait_while_paused(self) -> None:
            pauses.append(len(events))
            super().wait_while_paused()

    control = Control()
    model = build_model("lenet", seed=0)
    config = TrainConfig(device="cuda", epochs=20)  # far longer than the test: it ends by the stop

    def drive() -> None:
        try:
            run = train(config, model, control, data_dir, report_interval=1 / 30)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                while True:
                    # Set-up (the data and model moving to the GPU) syncs by nature: checked from the first report on.
                    torch.cuda.set_sync_debug_mode("warn" if events else 0)
                    try:
                        event = next(run)
                    except StopIteration:
                        break
                    finally:
                        torch.cuda.set_sync_debug_mode(0)
                    events.append(event)
                    if isinstance(event, BatchStats):
                        copies.append((event.step, copy_weights(model)))  # between batches: consistent
            syncs.extend(
                f"{w.filename}:{w.lineno}: {w.message}" for w in caught if "called a synchronizing" in str(w.message)
            )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def wait_for(condition, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while not condition() and time.monotonic() < end and worker.is_alive():
            time.sleep(0.01)
        return condition()

    worker = threading.Thread(target=drive, daemon=True)
    worker.start()
    try:
        assert wait_for(lambda: sum(isinstance(e, BatchStats) for e in events) >= 3, 120), errors or events
        control.pause()
        assert wait_for(lambda: pauses, 30), "a pause must reach the loop"
        time.sleep(0.3)
        shown = len(events)
        time.sleep(0.3)
        assert len(events) == shown and worker.is_alive(), "no batch may run while paused"
        last = events[-1]
        assert isinstance(last, BatchStats)
        reports = [e for e in events if isinstance(e, BatchStats)]
        assert [s for r in reports for s in r.steps] == list(range(1, last.step + 1)), (
            "every batch shown before the pause"
        )
        control.resume()
        assert wait_for(lambda: any(isinstance(e, BatchStats) and e.step > last.step for e in events[shown:]), 30)
    finally:
        control.stop()
        worker.join(60)
    assert not worker.is_alive() and not errors, errors
    ended = events[-1]
    assert isinstance(ended, TrainingEnded) and ended.reason == "stopped" and ended.device.startswith("cuda")
    final_step = max(e.step for e in events if isinstance(e, BatchStats))
    assert f"after {final_step} of" in ended.message
    # The last copy is the weights the run stopped with, on the CPU.
    step, weights = copies[-1]
    assert step == final_step and all(t.device.type == "cpu" for t in weights.values())
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor.cpu()), name
    assert syncs == [], "host syncs inside the training loop besides _read_back"
    reports = sum(isinstance(e, BatchStats) for e in events)
    assert len(reads) <= reports + sum(isinstance(e, EpochStats) for e in events)
