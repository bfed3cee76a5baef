"""The app's one owner of state: the current network, the drawing's result, the training run.

A ``ModelSession`` holds an eval-mode copy of the current model on the CPU
(inference for one drawing is fastest there and never competes with a GPU
training run), where its weights came from, the result for the current
drawing, and whether a training run is showing its weights. It announces
every change through ``session.events`` (see ``cnnviz.core.session.events``)::

    network_changed()      another network, dataset or set of weights (a file, a finished run, ...);
                           ``session.description`` then describes the new one
    weights_changed()      the same network's weights moved (live during training)
    result_ready(result)   a ``DrawingResult`` for the current drawing
    training_started()     a run began; the session shows its weights from now on
    training_finished(end) a run ended (a ``RunEnd``); the rules of ``end_training`` were applied
    callback_failed(f)     a subscriber raised (a ``CallbackFailure``); the others were still called
    accuracy_changed()     the test accuracy of the weights on screen is known anew (an evaluation finished)

``data_dir`` is the one place the dataset folder is kept: evaluation, the error
gallery, training and the random test image all read it from here when they start.

Views subscribe to what they show and never call each other; the Qt side adds
only a thin adapter (``cnnviz.qt.state.app_state``) that turns these into signals.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.core.data.datasets import class_names, is_loaded
from cnnviz.core.errors import CheckpointError, CnnvizError
from cnnviz.core.inspect.activations import activations, c3_connection_table, first_conv_kernels, predict
from cnnviz.core.inspect.description import NetworkDescription, describe
from cnnviz.core.models.registry import ModelSpec, build_model, get_spec, list_models
from cnnviz.core.resources import pretrained_path
from cnnviz.core.session.events import Event, EventGroup
from cnnviz.core.session.explain import ExplainMixin
from cnnviz.core.session.result import DrawingResult
from cnnviz.core.training.evaluate import count_test_images, load_test_images
from cnnviz.core.training.run import RunEnd, copy_weights  # noqa: F401 (re-exported)
from cnnviz.core.weights.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint


def pretrained_accuracy(model_name: str, dataset: str) -> float | None:
    """Test accuracy recorded in a shipped weights file, or None (read once per file version)."""
    path = pretrained_path(model_name, dataset)
    try:
        return _recorded_accuracy(str(path), path.stat().st_mtime_ns)
    except OSError:  # no such file
        return None


def pickable_models(dataset: str) -> list[ModelSpec]:
    """The networks a picker offers: the zoo, plus the variants that ship weights for ``dataset``
    (LeNet-5 trained the 1998 way), each after the network it is a variant of."""
    return [s for s in list_models(variants=True) if s.variant_of is None or pretrained_path(s.name, dataset).exists()]


@functools.lru_cache(maxsize=64)
def _recorded_accuracy(path: str, _mtime_ns: int) -> float | None:
    # The pickers ask for every network on each change; the files seldom change.
    try:
        return read_metadata(path).get("test_accuracy")
    except CheckpointError:
        return None


@dataclass(frozen=True)
class NetworkState:
    """Which weights are shown and where they came from; ``ModelSession.restore`` puts them back."""

    model_name: str
    dataset: str
    model: nn.Module
    metadata: dict
    source_kind: str
    source: str


class SessionEvents(EventGroup):
    """The session's events and what each carries (see the module docstring)."""

    network_changed: Event[[]]
    weights_changed: Event[[]]
    result_ready: Event[[DrawingResult]]
    training_started: Event[[]]
    training_finished: Event[[RunEnd]]
    accuracy_changed: Event[[]]

    def __init__(self) -> None:
        super().__init__(
            network_changed=(), weights_changed=(), result_ready=(DrawingResult,),
            training_started=(), training_finished=(RunEnd,), accuracy_changed=(),
        )  # fmt: skip


class ModelSession(ExplainMixin):
    """The current network and everything announced about it (see the module docstring)."""

    def __init__(self, model_name: str = "lenet5", dataset: str = "mnist", data_dir=None) -> None:
        self.events = SessionEvents()
        self.data_dir: Path | None = Path(data_dir) if data_dir else None  # None: the default data folder
        self.model_name = model_name
        self.dataset = dataset
        self.model: nn.Module = build_model(model_name).eval()
        self.metadata: dict = {}
        self.source = "untrained (random weights)"
        # What the weights are, for the app's logic: "untrained", "pretrained",
        # "file", "training" (live, mid-run) or "trained" (a finished run).
        self.source_kind = "untrained"
        self.result = DrawingResult(None)
        self._description: tuple[weakref.ref, NetworkDescription] | None = None  # for the model it describes
        self.saved = False  # the weights on screen are in a file the user saved
        self._run_before: NetworkState | None = None  # set while a run is going
        self._run_model: nn.Module | None = None  # the session's copy that shows the run's weights
        self._looked_back: tuple[dict, str] | None = None  # see show_snapshot

    # -- what the views show ---------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return get_spec(self.model_name)

    @property
    def class_names(self) -> tuple[str, ...]:
        return class_names(self.dataset)

    @property
    def test_accuracy(self) -> float | None:
        return self.metadata.get("test_accuracy")

    @property
    def training(self) -> bool:
        """Whether a run is going on: the app's one answer (the Training panel asks it too)."""
        return self._run_before is not None

    def set_test_accuracy(self, accuracy: float, model: nn.Module | None = None) -> bool:
        """Record an evaluation of the weights on screen and announce it (``accuracy_changed``).

        ``model`` is the model that was evaluated: if the user has put other weights on
        screen meanwhile, the figure is not theirs and nothing changes (returns False).
        """
        if (model is not None and model is not self.model) or self.training:
            return False
        self.metadata = {**self.metadata, "test_accuracy": float(accuracy)}
        self.events.accuracy_changed.emit()
        return True

    def infer(self, image: np.ndarray) -> tuple[np.ndarray, OrderedDict[str, np.ndarray]]:
        """Probabilities and every stage's activations for one 28x28 image in [0, 1]."""
        return activations(self.model, image)

    def predict(self, image: np.ndarray) -> np.ndarray:
        return predict(self.model, image)

    @property
    def description(self) -> NetworkDescription:
        """The network's structure (stages, shapes, layer table, first convolution, attribution stages,
        diagram), computed on first use after each network change and shared by every view.

        A network that fails on a zero image (a user's, SystemExit too) raises ``CnnvizError``: one sentence.
        """
        if self._description is None or self._description[0]() is not self.model:
            try:
                described = describe(self.model)
            except CnnvizError:
                raise
            except BaseException as exc:  # the user's code: never the app's end
                raise CnnvizError(f"The network failed on an empty input ({type(exc).__name__}: {exc}).") from exc
            self._description = (weakref.ref(self.model), described)
        return self._description[1]

    def first_kernels(self) -> tuple[str, np.ndarray]:
        """The first convolution's stage and its weights as they are now; ``CnnvizError`` without one."""
        return first_conv_kernels(self.model)

    def c3_table(self) -> np.ndarray | None:
        return c3_connection_table(self.model)

    # -- why this class? (attribution; captum is imported on first use, ~1 s) ------------
    def model_copy(self):
        """A copy of the network with the weights on screen, for work in another thread."""
        import copy

        return copy.deepcopy(self.model)

    def attribution(self, method: str, target: int | None = None, stage: str | None = None):
        """An ``AttributionResult`` (28x28 numpy map) for the current input; None without an input.

        Runs the session's own model: call it in the thread that runs inference (the GUI's).
        """
        return self.attribution_task(method, target, stage, copy_model=False)()

    def attribution_task(self, method: str, target: int | None = None, stage: str | None = None,
                         copy_model: bool = True, model=None, pictures: bool = False):  # fmt: skip
        """The same as a function ``task(progress=None)`` that may run in any thread.

        It holds the current input and (``copy_model``) a copy of the model, so live
        weights loaded meanwhile and the hooks of other methods never meet it. ``model``:
        such a copy made earlier (``model_copy()``), for a caller that asks many times.
        ``pictures``: the task returns ``(result, heat_pictures(...))``, coloured where it ran.
        """
        from cnnviz.core.inspect.attribution import attribute
        from cnnviz.core.inspect.background_process import ModelTask
        from cnnviz.core.inspect.heat_pictures import attribute_with_pictures

        image = self.result.image
        if model is None:
            model = self.model_copy() if copy_model else self.model
        stage = stage or self.description.grad_cam_stage  # known already: no forward pass to find it
        if image is None:
            return lambda progress=None: None
        if pictures:
            args = (image, method, target, stage, self.result.transform)
            return ModelTask(attribute_with_pictures, model, args, takes_progress=True)
        return ModelTask(attribute, model, (image, method, target, stage), takes_progress=True)

    # -- the drawing -------------------------------------------------------------
    def show_input(
        self, image: np.ndarray | None, transform=None, true_label: int | None = None, note: str | None = None
    ) -> DrawingResult:
        """Run the network on a new 28x28 input (None: an empty canvas, or ``note`` says why) and announce it."""
        if note is not None:
            self.result = DrawingResult(image, transform=transform, true_label=true_label, note=note)
        else:
            self.result = self._result_for(image, transform, true_label)
        self.events.result_ready.emit(self.result)
        return self.result

    def rerun(self) -> DrawingResult:
        """The same input through the current weights (after they changed)."""
        r = self.result
        return self.show_input(r.image, r.transform, r.true_label)

    def publish(self, result: DrawingResult) -> None:
        """Show a result computed elsewhere (a slow network's forward, run off the GUI thread)."""
        self.result = result
        self.events.result_ready.emit(result)

    def result_for(self, image, transform=None, true_label=None) -> DrawingResult:
        """The network's answer for one input, not yet shown (any thread); errors are one sentence."""
        return self._result_for(image, transform, true_label)

    def _result_for(self, image, transform, true_label) -> DrawingResult:
        if image is None:
            return DrawingResult(None, transform=transform, true_label=true_label)
        start = time.perf_counter()
        try:
            probabilities, acts = self.infer(image)
        except BaseException as exc:  # a user's network, SystemExit too: one sentence
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            return DrawingResult(image, transform=transform, true_label=true_label, error=error)
        finally:
            # The app runs a slow network off its GUI thread. The fastest of the last few forwards says
            # whether it is slow: one cold or crowded forward (the first after loading) must not decide it.
            self._recent_forwards = [*getattr(self, "_recent_forwards", [])[-4:], time.perf_counter() - start]
            self.forward_seconds = min(self._recent_forwards)
        if not np.all(np.isfinite(probabilities)):  # not "0 (nan%)": a sentence of its own
            error = "The network's scores are NaN (not a number) for this input, so it has no answer."
            return DrawingResult(image, transform=transform, true_label=true_label, error=error)
        return DrawingResult(image, probabilities, acts, transform, true_label)

    # -- where the weights come from ---------------------------------------------
    def _adopt(self, state: NetworkState) -> None:
        self.model_name, self.dataset = state.model_name, state.dataset
        self.model, self.metadata = state.model.eval().cpu(), state.metadata
        self.source_kind, self.source = state.source_kind, state.source
        self._looked_back = None  # a run's metadata while an earlier step is shown
        self.saved = False
        self._recent_forwards = []  # another network: its own speed
        self.forget_kernel_edits()  # new weights: whatever is now loaded counts as trained
        self.events.network_changed.emit()

    def state(self) -> NetworkState:
        return NetworkState(self.model_name, self.dataset, self.model, self.metadata, self.source_kind, self.source)

    def restore(self, state: NetworkState) -> None:
        self._adopt(state)

    def load_pretrained(self, model_name: str, dataset: str) -> bool:
        """Load the shipped weights; without a shipped file, use random weights and return False."""
        path = pretrained_path(model_name, dataset)
        if not path.exists():
            model = build_model(model_name)
            self._adopt(NetworkState(model_name, dataset, model, {}, "untrained", "untrained (no pretrained file)"))
            return False
        model, meta = load_checkpoint(path, model_name)
        self._adopt(NetworkState(model_name, dataset, model, meta, "pretrained", f"pretrained {path.name}"))
        return True

    def load_untrained(self, model_name: str, dataset: str) -> None:
        """Fresh random weights for a network (e.g. a user's own, which ships no weights)."""
        self._adopt(
            NetworkState(model_name, dataset, build_model(model_name), {}, "untrained", "untrained (random weights)")
        )

    def load_file(self, path: str | Path, model_name: str | None = None) -> None:
        """Load a user's weights file; on any problem raise ``CheckpointError`` and keep the current model.

        ``model_name`` (e.g. the model on screen) makes a file of another model
        an error; a legacy ``.pt`` file is always read as the current model.
        """
        legacy = Path(path).suffix in (".pt", ".pth")
        model, meta = load_checkpoint(path, self.model_name if legacy else model_name)
        dataset = meta.get("dataset", self.dataset)
        dataset = dataset if isinstance(dataset, str) and dataset in ("mnist", "fashion-mnist") else self.dataset
        self._adopt(NetworkState(meta["model"], dataset, model, meta, "file", f"file {Path(path).name}"))

    @property
    def has_unsaved_work(self) -> bool:
        """Weights the user made (a finished run) that no file holds yet: ask before throwing them away."""
        return self.source_kind == "trained" and not self.saved

    def save(self, path: str | Path) -> Path:
        # Keep the provenance (accuracy, recipe, ...) and refresh model, dataset, versions and date.
        meta = {**self.metadata, **build_metadata(self.model_name, self.model, dataset=self.dataset)}
        saved = save_checkpoint(path, self.model, meta)
        self.saved = True
        return saved

    # -- training ---------------------------------------------------------------------
    def begin_training(
        self, model_name: str, dataset: str, from_current: bool, seed: int = 0
    ) -> tuple[nn.Module, str | None]:
        """Show a run's weights from now on; return (the model to train, a note for the user or None).

        From scratch: fresh weights, repeatable with ``seed``. Continuing with
        another model than the current one: its pretrained weights, if shipped.
        The session keeps its own copy, kept current by ``show_live_weights``.
        """
        before = self.state()
        note = None
        if not from_current:
            model, start = build_model(model_name, seed=seed), "random weights"
        else:
            if model_name != self.model_name and not self.load_pretrained(model_name, dataset):
                note = f"No pretrained {get_spec(model_name).display_name} for {dataset}: training from random weights."
            model, start = self.model, self.source
        self._run_before, self._run_model = before, model
        self._adopt(NetworkState(model_name, dataset, model, {}, "training", f"training from {start}"))
        self.events.training_started.emit()
        trainee = build_model(self.model_name)  # a copy: the GUI thread reads the session's own meanwhile
        trainee.load_state_dict(self.model.state_dict())
        return trainee, note

    def show_live_weights(self, weights: dict, step: int) -> bool:
        """Show weights from the running run (a ``copy_weights`` result).

        False, and nothing changes, if no run is going or the user has put another network on
        screen since it started: live weights never overwrite what the user chose.
        """
        run_model = self._run_model
        if not self.training or run_model is None or self.model is not run_model:
            return False
        with torch.no_grad():
            run_model.load_state_dict(weights)
        self.source_kind, self.source = "training", f"training (live, batch {step:,})"
        self.events.weights_changed.emit()
        return True

    def show_snapshot(self, weights: dict, step: int, run_model: nn.Module | None = None, final: bool = False) -> bool:
        """Show a run's weights at an earlier step (the time slider), as live weights are shown.

        During the run, like ``show_live_weights``; after it, only while the network on screen is
        still the one the run ended with (``run_model``, the ``RunEnd.model`` it adopted). False,
        and nothing changes, otherwise. After the run, an earlier step is not the evaluated network:
        its test accuracy is put aside (a file saved now says "not evaluated") until ``final``
        (the run's last weights) brings it back.
        """
        target = self._run_model if self.training else run_model
        if target is None or self.model is not target:
            return False
        with torch.no_grad():
            target.load_state_dict(weights)
        if self.training:
            self.source_kind, self.source = "training", f"training (back at batch {step:,})"
        elif final:
            if self._looked_back is not None:
                (self.metadata, self.source), self._looked_back = self._looked_back, None
        else:  # still the trained network, seen at an earlier step
            if self._looked_back is None:
                self._looked_back = (self.metadata, self.source)
            self.metadata = {k: v for k, v in self.metadata.items() if k != "test_accuracy"}
            self.source = f"trained in this session (seen at batch {step:,})"
        self.events.weights_changed.emit()
        if not self.training:
            self.events.accuracy_changed.emit()
        return True

    def end_training(self, end: RunEnd) -> RunEnd:
        """Apply the rules for a run's model at its end, then announce it.

        - Not one batch ran, or the run failed: the network from before the run comes back.
        - Diverged, and the engine went back to the starting weights: the network from before comes back.
        - Otherwise (completed, stopped, diverged with a good checkpoint): the run's model is adopted,
          with its metadata (a completed run's test accuracy; "not evaluated" otherwise).
        """
        before, self._run_before = self._run_before, None
        shown, self._run_model = self._run_model, None
        if before is None:
            raise RuntimeError("end_training without begin_training")
        if self.model is not shown:  # the user put another network on screen meanwhile: leave it
            end.message += " Another network was opened during training, so the run's weights were not kept."
            self.events.training_finished.emit(end)
            return end
        go_back = (
            end.model is None or end.steps == 0 or end.reason == "error"
            or (end.reason == "diverged" and end.kept_weights_from_before) or end.go_back
        )  # fmt: skip
        if go_back:
            self._adopt(before)
            end.restored = True
            if end.steps:
                end.message += f" The network from before the run ({before.source}) is back."
        else:
            assert end.model is not None  # go_back otherwise
            metadata = dict(end.metadata or {})
            # A stopped or diverged run was evaluated only if no batch ran after its last evaluation.
            if end.reason != "completed" and end.test_accuracy is None:
                metadata.pop("test_accuracy", None)
            self._adopt(NetworkState(self.model_name, self.dataset, end.model, metadata, "trained",
                                     "trained in this session"))  # fmt: skip
            end.adopted = True
            if end.reason == "stopped":
                end.message += " The weights learned so far are now the current network."
            elif end.reason == "diverged":
                end.message += " The last good weights (checked on the test set) are now the current network."
        self.events.training_finished.emit(end)
        return end

    # -- test images ------------------------------------------------------------------
    def test_set_in_memory(self) -> bool:
        """Whether ``random_test_image`` answers at once (False: it reads, maybe downloads, first)."""
        return is_loaded(self.dataset, False, self.data_dir)

    def random_test_index(self, data_dir=None, *, rng: np.random.Generator | None = None) -> int:
        """A random index into the current dataset's test set (read first if it is not in memory)."""
        return int(
            (rng or np.random.default_rng()).integers(count_test_images(self.dataset, data_dir or self.data_dir))
        )

    def test_image(self, index: int, data_dir=None) -> tuple[np.ndarray, int]:
        """Test image ``index`` of the current dataset (28x28 float in [0, 1], as the network gets it) and its label."""
        images, labels = load_test_images(self.dataset, [index], data_dir or self.data_dir)
        return images[0], int(labels[0])

    def random_test_image(self, data_dir=None, *, rng: np.random.Generator | None = None) -> tuple[np.ndarray, int]:
        """A random test image of the current dataset and its label (``random_test_index``, ``test_image``)."""
        return self.test_image(self.random_test_index(data_dir, rng=rng), data_dir)
