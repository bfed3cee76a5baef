"""A lesson: a list of scenes and the weights they need, in one safetensors file.

A *scene* is what a lecturer wants back on screen at one step of a lecture:
the network, its weights and dataset, the drawing (its strokes, or the
picture put on the canvas), the selected unit, the attribution method and
class, the workspace or the panels on screen, and the presentation page.

On disk a lesson is a safetensors file (never a pickle): the tensors are the
weights (``weights/<key>/<parameter>``) and pictures (``picture/<key>``); the
JSON under the ``cnnviz_lesson`` metadata key lists the scenes. Weights that
several scenes share are stored once. A scene on the user's own network
(``FILE.py:NAME``) records that file's path and SHA-256; opening the lesson
never runs it: the app asks first and checks the hash (``check_network_file``).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes

import cnnviz
from cnnviz.core.data.files import read_regular
from cnnviz.core.errors import CnnvizError

FORMAT = "cnnviz-lesson/1"
METADATA_KEY = "cnnviz_lesson"
SUFFIX = ".cnnlesson"
MAX_LESSON_BYTES = 500_000_000
MAX_SCENES = 500
DATASET_NAMES = ("mnist", "fashion-mnist")


class LessonError(CnnvizError):
    """A lesson file that cannot be read or used; the message is one sentence for the user."""


@dataclass
class Weights:
    """One set of weights the lesson holds: which network, its tensors and the checkpoint metadata."""

    model: str
    tensors: dict[str, torch.Tensor]
    metadata: dict = field(default_factory=dict)


@dataclass
class Scene:
    """One step of a lecture (see the module docstring). ``drawing`` lists the canvas's items, oldest
    first: ``{"stroke": [[x, y, width], ...]}`` in canvas units, or ``{"picture": key}``.
    ``test_input`` (a key of ``pictures``, 28x28 float) is set when a test image is fed unchanged."""

    name: str
    model: str
    dataset: str
    weights: str  # a key of Lesson.weights
    drawing: list[dict] = field(default_factory=list)
    test_input: str | None = None
    true_label: int | None = None
    unit: tuple[str, int, int, int] | None = None
    attribution_method: str | None = None
    attribution_class: int | None = None
    workspace: str | None = None
    docks: list[str] = field(default_factory=list)  # panels on screen (until workspaces exist)
    page: int = 0  # presentation mode's panel on a small screen
    quiz: bool = False


@dataclass
class NetworkFile:
    """The user's own network a scene runs: the file it came from and its SHA-256."""

    path: str
    sha256: str


@dataclass
class Lesson:
    scenes: list[Scene] = field(default_factory=list)
    weights: dict[str, Weights] = field(default_factory=dict)
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    networks: dict[str, NetworkFile] = field(default_factory=dict)  # model name -> file

    def add_weights(self, model: str, state: dict[str, torch.Tensor], metadata: dict | None = None) -> str:
        """Store a copy of these weights once (by content) and return their key."""
        digest = hashlib.sha256(model.encode())
        for name in sorted(state):
            tensor = state[name].detach().cpu().contiguous()
            digest.update(name.encode())
            digest.update(str(tensor.dtype).encode())
            digest.update(tensor.numpy().tobytes() if tensor.numel() else b"")
        key = digest.hexdigest()[:16]
        if key not in self.weights:
            tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
            self.weights[key] = Weights(model, tensors, _plain(metadata or {}))
        return key

    def add_picture(self, array: np.ndarray) -> str:
        """Store a picture (uint8 or float32 array) once by content; return its key."""
        array = np.ascontiguousarray(array)
        key = hashlib.sha256(str(array.dtype).encode() + str(array.shape).encode() + array.tobytes()).hexdigest()[:16]
        self.pictures.setdefault(key, array.copy())
        return key

    def user_networks(self) -> list[str]:
        """The user's own networks (``FILE.py:NAME``) the scenes run, in order of first use."""
        seen: list[str] = []
        for scene in self.scenes:
            if scene.model in self.networks and scene.model not in seen:
                seen.append(scene.model)
        return seen

    def prune(self) -> None:
        """Forget weights and pictures no scene uses any more (after scenes were deleted)."""
        used_w = {s.weights for s in self.scenes}
        used_p = {s.test_input for s in self.scenes} | {i.get("picture") for s in self.scenes for i in s.drawing}
        self.weights = {k: v for k, v in self.weights.items() if k in used_w}
        self.pictures = {k: v for k, v in self.pictures.items() if k in used_p}
        self.networks = {k: v for k, v in self.networks.items() if k in {s.model for s in self.scenes}}


def _plain(metadata: dict) -> dict:
    """The JSON-safe part of a checkpoint's metadata (its ``notes`` and odd values dropped)."""
    try:
        return json.loads(json.dumps({k: v for k, v in dict(metadata).items() if k != "notes"}))
    except (TypeError, ValueError):
        return {}


# -- writing -------------------------------------------------------------------------------
def save_lesson(path: str | os.PathLike, lesson: Lesson) -> Path:
    """Write the lesson atomically (a temporary file renamed over ``path``); returns the path."""
    path = Path(path)
    lesson.prune()
    tensors: dict[str, torch.Tensor] = {}
    for key, weights in lesson.weights.items():
        for name, tensor in weights.tensors.items():
            tensors[f"weights/{key}/{name}"] = tensor
    for key, array in lesson.pictures.items():
        tensors[f"picture/{key}"] = torch.from_numpy(np.ascontiguousarray(array))
    document = {
        "format": FORMAT,
        "cnnviz_version": cnnviz.__version__,
        "weights": {k: {"model": w.model, "metadata": w.metadata} for k, w in lesson.weights.items()},
        "networks": {k: {"path": n.path, "sha256": n.sha256} for k, n in lesson.networks.items()},
        "scenes": [_scene_json(s) for s in lesson.scenes],
    }
    blob = safetensors_bytes(tensors, metadata={METADATA_KEY: json.dumps(document)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _scene_json(s: Scene) -> dict:
    return {
        "name": s.name, "model": s.model, "dataset": s.dataset, "weights": s.weights, "drawing": s.drawing,
        "test_input": s.test_input, "true_label": s.true_label, "unit": list(s.unit) if s.unit else None,
        "attribution_method": s.attribution_method, "attribution_class": s.attribution_class,
        "workspace": s.workspace, "docks": list(s.docks), "page": s.page, "quiz": s.quiz,
    }  # fmt: skip


# -- reading -------------------------------------------------------------------------------
def load_lesson(path: str | os.PathLike) -> Lesson:
    """Read and check a lesson file; raise ``LessonError`` (one sentence) if it is not a usable lesson.

    Checks the form of every field, that every weights set fits the network it
    names (shapes, finite values) and that every reference resolves. A user's
    network is not run (nor registered) here: see ``check_network_file``.
    """
    path = Path(path)
    name = f"'{path.name}'"
    data = read_regular(path, what="lesson file", limit=MAX_LESSON_BYTES, error=LessonError)
    document = _document(data, name)
    try:
        tensors = safetensors_load(data)
    except Exception:
        raise LessonError(f"{name} is damaged: its tensors cannot be read (truncated or corrupt).") from None
    try:
        lesson = _lesson_from(document, tensors)
    except LessonError as exc:
        raise LessonError(f"{name} is not a usable lesson: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise LessonError(f"{name} is not a usable lesson: its list of scenes is malformed.") from None
    return lesson


def _document(data: bytes, name: str) -> dict:
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if not 2 <= n <= len(data) - 8:
        raise LessonError(f"{name} is not a cnnviz lesson (it is truncated, corrupt or another kind of file).")
    try:
        header = json.loads(data[8 : 8 + n])
        document = json.loads(header["__metadata__"][METADATA_KEY])
    except Exception:
        raise LessonError(
            f"{name} is not a cnnviz lesson (no lesson inside; a weights file opens with Open weights)."
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise LessonError(f"{name} is a lesson of another format ({str(found)[:40]}); this cnnviz reads {FORMAT}.")
    return document


def _lesson_from(document: dict, tensors: dict[str, torch.Tensor]) -> Lesson:
    lesson = Lesson()
    for model, entry in dict(document.get("networks") or {}).items():
        lesson.networks[str(model)] = NetworkFile(
            _text(entry["path"], "a network path"), _text(entry["sha256"], "a hash")
        )
    for key, entry in dict(document["weights"]).items():
        prefix = f"weights/{key}/"
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        metadata = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
        lesson.weights[str(key)] = Weights(_text(entry["model"], "a network name"), state, metadata)
    for k, v in tensors.items():
        if k.startswith("picture/"):
            if v.dtype not in (torch.uint8, torch.float32) or v.ndim != 2 or max(v.shape) > 1000:
                raise LessonError("a picture in it is not a grey image.")
            lesson.pictures[k[len("picture/") :]] = v.numpy()
    scenes = document["scenes"]
    if not isinstance(scenes, list) or not scenes or len(scenes) > MAX_SCENES:
        raise LessonError(
            "it holds no scenes." if isinstance(scenes, list) and not scenes else "its scenes are not a list."
        )
    lesson.scenes = [_scene_from(s, lesson) for s in scenes]
    for key in {s.weights for s in lesson.scenes}:
        _check_weights(lesson.weights[key], lesson)
    return lesson


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise LessonError(f"{what} in it is not text.")
    return value


def _scene_from(raw: dict, lesson: Lesson) -> Scene:
    weights = _text(raw["weights"], "a weights key")
    if weights not in lesson.weights:
        raise LessonError(f"scene '{str(raw.get('name'))[:60]}' needs weights the file does not hold.")
    dataset = _text(raw["dataset"], "a dataset")
    if dataset not in DATASET_NAMES:
        raise LessonError(f"scene '{str(raw.get('name'))[:60]}' uses an unknown dataset '{dataset[:40]}'.")
    drawing: list[dict] = []
    for item in raw.get("drawing") or []:
        if "picture" in item:
            if item["picture"] not in lesson.pictures:
                raise LessonError("a drawing in it names a picture the file does not hold.")
            drawing.append({"picture": str(item["picture"])})
        else:
            points = [[float(x), float(y), float(w)] for x, y, w in item["stroke"]]
            if not all(np.isfinite(p).all() for p in points):
                raise LessonError("a stroke in it has a point that is not a number.")
            drawing.append({"stroke": points})
    test_input = raw.get("test_input")
    if test_input is not None and (test_input not in lesson.pictures or lesson.pictures[test_input].shape != (28, 28)):
        raise LessonError("a scene's test image is missing or not 28x28.")
    unit = raw.get("unit")
    if unit is not None:
        unit = (str(unit[0]), int(unit[1]), int(unit[2]), int(unit[3]))
    label, klass = raw.get("true_label"), raw.get("attribution_class")
    return Scene(
        name=str(raw.get("name") or "Scene")[:200], model=_text(raw["model"], "a network name"), dataset=dataset,
        weights=weights, drawing=drawing, test_input=test_input, true_label=None if label is None else int(label),
        unit=unit, attribution_method=None if raw.get("attribution_method") is None else str(raw["attribution_method"]),
        attribution_class=None if klass is None else int(klass),
        workspace=None if raw.get("workspace") is None else str(raw["workspace"]),
        docks=[str(d) for d in raw.get("docks") or []], page=int(raw.get("page") or 0), quiz=bool(raw.get("quiz")),
    )  # fmt: skip


def _check_weights(weights: Weights, lesson: Lesson) -> None:
    """Shapes and values against the network named, for zoo networks (a user's is checked once it is opened)."""
    if weights.model in lesson.networks:
        return
    from cnnviz.core.models.registry import build_model, get_spec

    try:
        spec = get_spec(weights.model)
    except CnnvizError:
        raise LessonError(f"it names a network this cnnviz does not know ('{weights.model[:60]}').") from None
    check_fits(weights, build_model(spec.name))


def check_fits(weights: Weights, model: torch.nn.Module) -> None:
    """Raise ``LessonError`` unless the weights have the model's tensors, shapes and sane values."""
    from cnnviz.core.weights.checks import check_values

    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in weights.tensors.items()}
    if expected != got:
        raise LessonError(f"its weights for {weights.model[:60]} do not fit that network (other tensors or shapes).")
    try:
        check_values(Path("lesson"), model, weights.tensors)
    except CnnvizError:
        raise LessonError(f"its weights for {weights.model[:60]} hold values no trained network has.") from None


def model_for(lesson: Lesson, key: str) -> torch.nn.Module:
    """A fresh eval-mode network with the weights ``key`` (its network must be registered: a zoo
    network, or the user's opened after ``check_network_file``)."""
    from cnnviz.core.models.registry import build_model

    weights = lesson.weights[key]
    try:
        model = build_model(weights.model)
    except CnnvizError as exc:
        raise LessonError(f"The lesson's network {weights.model[:60]} cannot be built: {exc}") from None
    check_fits(weights, model)
    model.load_state_dict(weights.tensors)
    return model.eval()


def check_network_file(lesson: Lesson, model: str) -> Path:
    """The user's network file a lesson names, if its content is what the lesson was made with.

    Raises ``LessonError`` when the file is missing or was changed since (SHA-256 differs);
    the caller asks the user before running it (it runs the file's code).
    """
    from cnnviz.core.models.user_model import file_sha256

    entry = lesson.networks[model]
    path = Path(entry.path)
    if not path.is_file():
        raise LessonError(f"The lesson needs your network file {path.name}, which is not at '{path}' any more.")
    if file_sha256(path) != entry.sha256:
        raise LessonError(f"Your network file {path.name} changed since the lesson was made, so it is not run.")
    return path


__all__ = [
    "FORMAT", "SUFFIX", "Lesson", "LessonError", "NetworkFile", "Scene", "Weights", "check_fits",
    "check_network_file", "load_lesson", "model_for", "save_lesson",
]  # fmt: skip
