"""The GPU check in its quick form: every part's plumbing, in seconds, on whatever machine runs the suite."""

import json

import torch

from cnnviz.tools.gpu_check import PARTS, main
from cnnviz.tools.gpu_check_summary import summary


def test_quick_check_writes_every_part_and_says_whether_cuda_is_there(tmp_path, data_dir, capsys):
    assert main(["--quick", "--out", str(tmp_path), "--data-dir", str(data_dir)]) == 0
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    cuda = torch.cuda.is_available()
    assert data["finished"] and data["cuda_available"] is cuda
    assert data["statement"].startswith(f"cuda available: {str(cuda).lower()}")
    assert {"torch", "cuda_version", "cpu_cores", "python"} <= data["environment"].keys()
    assert set(data["parts"]) == set(PARTS) and "wall_seconds" in data
    parts = data["parts"]
    assert parts["pytest"]["failed"] == parts["pytest"]["errors"] == 0
    if not cuda:  # CUDA is the one reason tests/gpu skips
        assert parts["pytest"]["passed"] == 0 and parts["pytest"]["skipped"] == len(parts["pytest"]["tests"]) > 0
        assert parts["train"]["status"] == "skipped" and "CUDA not available" in parts["train"]["why"]
    syncs = parts["syncs"]
    assert syncs["batches"] > 0 and 0 < syncs["read_backs"] <= syncs["reports"] + 1
    assert (syncs["hidden_syncs"] == 0) if cuda else syncs["hidden_syncs"] is None
    networks = parts["zoo"]["networks"]
    assert {"lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"} <= networks.keys()
    assert all(n["cpu"]["images_per_second"] > 0 for n in networks.values())
    rates = parts["variants"]["images_per_second"]["lenet"]
    assert rates["fp32"] > 0 and rates["channels_last+bf16"] > 0
    text = (tmp_path / "gpu_check.txt").read_text()
    assert f"cuda available: {str(cuda).lower()}" in text and "not done:" in text
    assert capsys.readouterr().out.rstrip().endswith(text.rstrip())  # the table comes last


def test_summary_of_a_run_killed_part_way():
    text = summary({"statement": "cuda available: true", "not_done": []})
    assert "NOT FINISHED" in text and "cuda available: true" in text
    run = {"seed": 0, "exit_code": 0, "reached_99": True, "final_test_accuracy": 0.9905,
           "seconds_from_process_start": 6.1, "seconds_from_first_batch": 2.0, "images_per_second": 30000}  # fmt: skip
    killed_in_train = {"parts": {"train": {"status": "running", "device": "cuda", "runs": [run]}}}
    assert "1 of 1 so far" in summary(killed_in_train) and "99.05%" in summary(killed_in_train)
