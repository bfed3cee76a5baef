"""The Qt-free core: model zoo, data, training, evaluation, inspection, checkpoints.

Imports torch, numpy and safetensors (torchvision when a dataset is read);
never PySide6 or pyqtgraph. The names below are imported on first use, so
``import cnnviz.core`` (and ``cnnviz --help``) costs nothing until one is used.

    models/    the networks and the registry they add themselves to
    data/      datasets, IDX files, drawings and pictures made into the model input, augmentation
    weights/   checkpoints on disk and their checks
    training/  the loop, the run (its lifecycle), rollback, the run's log, evaluation, devices
    inspect/   activations, stages, the unit inspector, architecture, attribution, six networks
    session/   the app's one owner of state and its events
    before_torch/  what the first second needs without torch (LeNet-5's forward in numpy, the paper's tables)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "cnnviz.core.weights.checkpoint": ("build_metadata", "load_checkpoint", "read_metadata", "save_checkpoint"),
    "cnnviz.core.data.datasets": ("DATASETS", "class_names", "default_data_dir", "load_split"),
    "cnnviz.core.training.device": ("available_devices", "device_label", "resolve_device", "set_cpu_threads"),
    "cnnviz.core.errors": ("CheckpointError", "CnnvizError", "DataMissingError"),
    "cnnviz.core.training.evaluate": (
        "EvalResult", "EvaluationCancelled", "count_test_images", "evaluate", "evaluate_copy", "load_test_images",
    ),
    "cnnviz.core.inspect.activations": ("activations", "c3_connection_table", "first_conv_kernels", "predict"),
    "cnnviz.core.inspect.layers": ("LayerInfo", "layer_table"),
    "cnnviz.core.data.preprocess": ("InputTransform", "PreparedInput", "drawing_to_input", "prepare_drawing"),
    "cnnviz.core.models.registry": ("ModelSpec", "build_model", "count_parameters", "get_spec", "list_models"),
    "cnnviz.core.training.run_log": ("RunLog",),
    "cnnviz.core.session.session": ("DrawingResult", "ModelSession", "pickable_models", "pretrained_accuracy"),
    "cnnviz.core.training.run": ("LiveWeights", "Progress", "RunEnd", "TrainingRun", "copy_weights"),
    "cnnviz.core.training.loop": ("BatchStats", "EpochStats", "TrainConfig", "TrainControl", "TrainingEnded", "train"),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnviz.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
