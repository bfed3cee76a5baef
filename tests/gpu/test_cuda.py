"""What only a CUDA GPU can show; skipped on machines without one (not yet run on real hardware)."""

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
