"""The Qt-free core: model zoo, data, training, evaluation, inspection, checkpoints.

Imports torch, numpy and safetensors (torchvision when a dataset is read);
never PySide6 or pyqtgraph.
"""

from cnnviz.core.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint
from cnnviz.core.data import DATASETS, class_names, default_data_dir, load_split
from cnnviz.core.device import available_devices, device_label, resolve_device, set_cpu_threads
from cnnviz.core.errors import CheckpointError, CnnvizError, DataMissingError
from cnnviz.core.evaluate import (
    EvalResult,
    EvaluationCancelled,
    count_test_images,
    evaluate,
    evaluate_copy,
    load_test_images,
)
from cnnviz.core.inspect import activations, c3_connection_table, first_conv_kernels, predict
from cnnviz.core.layers import LayerInfo, layer_table
from cnnviz.core.preprocess import InputTransform, PreparedInput, drawing_to_input, prepare_drawing
from cnnviz.core.registry import ModelSpec, build_model, count_parameters, get_spec, list_models
from cnnviz.core.run_log import RunLog
from cnnviz.core.session import DrawingResult, ModelSession, RunEnd, copy_weights, pretrained_accuracy
from cnnviz.core.training import (
    BatchStats,
    EpochStats,
    TrainConfig,
    TrainControl,
    TrainingEnded,
    train,
)

__all__ = [
    "BatchStats", "CheckpointError", "CnnvizError", "DATASETS", "DataMissingError", "EpochStats", "EvalResult",
    "DrawingResult", "LayerInfo", "ModelSession", "ModelSpec", "RunEnd", "copy_weights", "pretrained_accuracy", "TrainConfig", "TrainControl", "TrainingEnded", "activations", "available_devices",
    "build_metadata", "build_model", "c3_connection_table", "class_names", "count_parameters", "default_data_dir",
    "device_label", "drawing_to_input", "InputTransform", "PreparedInput", "prepare_drawing", "evaluate", "first_conv_kernels", "get_spec", "layer_table", "list_models",
    "load_checkpoint", "load_split", "EvaluationCancelled", "count_test_images", "evaluate_copy", "load_test_images",
    "RunLog", "predict", "read_metadata", "resolve_device", "save_checkpoint", "set_cpu_threads", "train",
]  # fmt: skip
