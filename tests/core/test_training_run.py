"""The run lifecycle in the core: ``TrainingRun`` (typed reports, one ``RunEnd``), one validation, the session's data folder."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_idx import write_idx_dataset  # noqa: E402

from cnnviz.core import EpochStats, ModelSession, Progress, RunEnd, TrainConfig, TrainingRun  # noqa: E402
from cnnviz.core.errors import CnnvizError  # noqa: E402
from cnnviz.core.training import loop  # noqa: E402
from cnnviz.core.training.run import GO_BACK, KEEP  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_idx_dataset(tmp_path_factory.mktemp("tiny"), n_train=320, n_test=150)


def _config(**changes) -> TrainConfig:
    return TrainConfig(**{"model": "lenet", "batch_size": 32, "device": "cpu", "threads": 1, **changes})


def test_a_completed_run_ends_once_with_its_one_test_set_evaluation(tiny, monkeypatch):
    calls = []
    real = loop.evaluate_with_confusion
    monkeypatch.setattr(loop, "evaluate_with_confusion", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr("cnnviz.core.training.evaluate.evaluate", lambda *a, **k: pytest.fail("a second evaluation"))
    run = TrainingRun(_config(epochs=2), data_dir=tiny)
    reports = list(run.reports())
    kinds = [type(r) for r in reports]
    assert kinds[-1] is RunEnd and kinds.count(RunEnd) == 1 and Progress in kinds
    assert kinds.count(EpochStats) == 2 and len(calls) == 2  # once per epoch; the last one is the run's
    end = reports[-1]
    assert end is run.end and end.reason == "completed" and end.steps == 20 and end.epochs_completed == 2
    assert sum(map(sum, end.confusion)) == 150  # the tiny test set, not MNIST's 10,000
    assert end.test_accuracy == reports[-2].test_accuracy == pytest.approx(end.metadata["test_accuracy"])
    assert end.metadata["recipe"] == run.config.as_dict() and end.metadata["dataset"] == "mnist"
    assert len(end.per_class_accuracy) == 10 and end.class_names == [str(d) for d in range(10)]
    steps = [s for r in reports if isinstance(r, Progress) for s in r.steps]
    assert steps == list(range(1, 21))  # every batch reported once, in order, typed


def test_a_stopped_run_asks_to_keep_and_enter_keeps(tiny):
    run = TrainingRun(_config(epochs=3), data_dir=tiny)
    for report in run.reports():
        if isinstance(report, Progress) and report.step >= 3:
            run.stop()
    end = run.end
    assert end.reason == "stopped" and end.steps >= 3 and end.asks_to_keep
    title, text, buttons = end.keep_question()
    assert title == "Keep the weights?" and f"{end.steps:,} batches" in text
    assert buttons == [GO_BACK, KEEP]  # the last button is the default one: Enter keeps
    assert end.test_accuracy is None and end.confusion is None  # weights changed since any evaluation


def test_a_failure_is_a_run_end_with_one_sentence(tmp_path):
    run = TrainingRun(_config(), data_dir=tmp_path)  # no dataset there
    reports = list(run.reports())
    assert len(reports) == 1 and reports[0].reason == "error"
    assert "MNIST" in reports[0].message and "Traceback" not in reports[0].message
    assert not reports[0].asks_to_keep


def test_pause_from_another_thread_holds_the_run_between_batches(tiny):
    run = TrainingRun(_config(epochs=2), data_dir=tiny, report_interval=0)
    reports = run.reports()
    first = next(r for r in reports if isinstance(r, Progress))
    run.pause()
    done, got = threading.Event(), []
    worker = threading.Thread(target=lambda: (got.append(next(reports)), done.set()), daemon=True)
    worker.start()
    assert not done.wait(0.5) and run.step == first.step  # held before the next batch
    run.stop()  # a stop wakes a paused run, which then ends
    worker.join(30)
    assert done.is_set()
    assert [*got, *reports][-1] is run.end and run.end.reason == "stopped"


def test_one_validation_for_cli_and_app_with_the_same_limits(capsys):
    from cnnviz.cli.commands import _parser, check_train_numbers, config_from_args

    big = 2**40  # above the CLI's old 2**32 - 1 limit; torch takes any int64
    args = _parser().parse_args(["train", "--seed", str(big)])
    check_train_numbers(args)
    assert config_from_args(args).seed == big
    for seed in (-1, 2**63):
        with pytest.raises(CnnvizError) as app:
            TrainConfig(seed=seed)
        with pytest.raises(CnnvizError) as cli:
            check_train_numbers(_parser().parse_args(["train", "--seed", str(seed)]))
        assert str(cli.value) == str(app.value).replace("Seed", "--seed", 1)


def test_the_session_holds_the_data_folder_and_announces_an_evaluated_accuracy(tiny):
    session = ModelSession("lenet5", data_dir=tiny)
    assert session.data_dir == tiny
    image, label = session.random_test_image()  # read from the session's folder: the tiny set
    assert image.shape == (28, 28) and 0 <= label < 10 and session.test_set_in_memory()
    heard = []
    session.events.accuracy_changed.connect(lambda: heard.append(session.test_accuracy))
    assert session.set_test_accuracy(0.9912)
    assert heard == [0.9912]
    assert not session.set_test_accuracy(0.5, model=object())  # an evaluation of other weights changes nothing
    assert session.test_accuracy == 0.9912


def test_eval_counts_the_mistakes_with_a_thousands_separator(tmp_path, capsys):
    from cnnviz.cli.commands import main
    from cnnviz.core.resources import pretrained_path

    folder = write_idx_dataset(tmp_path, n_train=20, n_test=1200)
    assert main(["eval", "--weights", str(pretrained_path("lenet5", "mnist")), "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert " of 1,200 wrong)" in out, out  # "(99 of 10,000 wrong)", not "10000"


def test_cnnviz_train_is_a_face_of_the_same_run(tiny, tmp_path, capsys):
    from cnnviz.cli.commands import main
    from cnnviz.core import read_metadata

    out = tmp_path / "w.safetensors"
    argv = ["train", "--model", "lenet", "--epochs", "1", "--batch-size", "32", "--device", "cpu",
            "--data-dir", str(tiny), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    meta = read_metadata(out)
    app = TrainingRun(_config(epochs=1, threads=None), data_dir=tiny)  # the panel's run of the same recipe
    list(app.reports())
    # The metadata is built once, by the run: the same fields from the CLI and the app (the CLI adds its history).
    assert set(meta) - {"test_accuracy_history"} == set(app.end.metadata)
    assert meta["recipe"] == app.end.metadata["recipe"] and meta["test_accuracy_history"] == [meta["test_accuracy"]]
