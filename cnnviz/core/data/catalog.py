"""The datasets the app knows, by name: their classes and folders. No torch, so `cnnviz --help` stays light."""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.core.errors import CnnvizError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    display_name: str
    folder: str  # torchvision's folder under the data directory
    classes: tuple[str, ...]
    mirror_safe: bool = False  # a left-right mirrored image still shows its class


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", "MNIST", tuple(str(d) for d in range(10))),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        mirror_safe=True,
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise CnnvizError(f"Unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}.") from None


def class_names(dataset: str) -> tuple[str, ...]:
    return dataset_info(dataset).classes
