"""``cnnviz explain``: the unit inspector's numbers and attribution maps, without a window.

For lecture notes and tests::

    cnnviz explain --model lenet5 --test-index 0 --layer C3 --channel 0 --y 5 --x 5
    cnnviz explain --model resnet --image seven.png --attribution gradcam --out fig.png --json

Heavy imports (torch, torchvision, captum) wait until the command runs, so
registering the subcommand costs ``cnnviz --help`` nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path

from cnnviz.cli.arguments import whole_number

METHOD_CHOICES = ("saliency", "gradcam", "guided", "ig", "occlusion")


def _class_index(text: str) -> int:
    """``--target``: a class index 0 to 9 (the networks here all have 10 classes)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a class number 0 to 9, not '{text}'") from None
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"must be a class number 0 to 9, not {text}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``explain`` on the ``cnnviz`` command's subparsers."""
    p = subparsers.add_parser(
        "explain", help="how one unit got its value, or which pixels made the class (attribution)"
    )
    p.add_argument("--model", help="zoo model or PATH.py:NAME (default: the weights file's model, else lenet5)")
    p.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist (default: mnist)")
    p.add_argument("--weights", help="weights file (default: the shipped weights for the model and dataset)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="a picture file (PNG, JPEG): dark ink on light paper or the reverse")
    source.add_argument("--test-index", type=int, metavar="I", help="image I of the dataset's test split")
    p.add_argument("--layer", help="stage of the unit to explain (see: cnnviz layers MODEL)")
    p.add_argument("--channel", type=int, default=0, help="the unit's channel (for a vector stage: its index)")
    p.add_argument("--y", type=int, default=0, help="the unit's row in the stage's feature map")
    p.add_argument("--x", type=int, default=0, help="the unit's column in the stage's feature map")
    p.add_argument(
        "--top", type=whole_number(0, 10_000), default=10, help="a linear unit's largest contributions to list"
    )
    p.add_argument("--attribution", choices=METHOD_CHOICES, help="attribution map to compute")
    p.add_argument("--target", type=_class_index, help="class to explain (default: the predicted class)")
    p.add_argument("--stage", help="Grad-CAM's stage (default: the last convolutional stage)")
    p.add_argument("--out", help="write the attribution over the digit, with a colour key, as a PNG figure (2x)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--data-dir", help="dataset folder (default: $CNNVIZ_DATA_DIR, else the user data folder)")
    return p


def _load_model(args):
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.models.registry import get_spec
    from cnnviz.core.models.user_model import resolve_model_name
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.weights.checkpoint import load_checkpoint

    if args.model:
        args.model = resolve_model_name(args.model)  # PATH.py:NAME is probed in a child process, then loaded
    if args.weights:
        model, meta = load_checkpoint(args.weights, args.model)
        trained_on = meta.get("dataset")
        if isinstance(trained_on, str) and trained_on != args.dataset:
            print(
                f"cnnviz: warning: the weights were trained on {trained_on}, not {args.dataset}: "
                f"the answers are about {args.dataset} images the network never learned.",
                file=sys.stderr,
            )
        return model, meta["model"], args.weights
    name = args.model or "lenet5"
    get_spec(name)  # an unknown model fails here with the zoo's list
    path = pretrained_path(name, args.dataset)
    if not path.exists():
        raise CnnvizError(f"No weights are shipped for {name} on {args.dataset}; give a file with --weights.")
    return load_checkpoint(path, name)[0], name, str(path)


def read_picture(path: str):
    """A picture file -> the 28x28 model input, made like MNIST (``preprocess.drawing_to_input``)."""
    import torch
    from torchvision.io import ImageReadMode, decode_image

    from cnnviz.core.data.files import read_regular
    from cnnviz.core.data.pictures import MAX_FILE_BYTES, check_declared_size, declared_size
    from cnnviz.core.data.preprocess import drawing_to_input
    from cnnviz.core.errors import CnnvizError

    data = read_regular(path, what="picture file", limit=MAX_FILE_BYTES)  # a regular file, not too large
    size = declared_size(data)
    if size is None:
        raise CnnvizError(f"'{path}' is not a picture cnnviz can read (PNG, JPEG, GIF or WebP).")
    check_declared_size(f"'{Path(path).name}'", *size)  # before decoding: a small file may declare 30000x30000
    try:
        with warnings.catch_warnings():
            # torchvision 0.29 deprecates its decoders for TorchCodec; they still work, and
            # nothing else in the dependencies reads PNG and JPEG without Qt.
            warnings.filterwarnings("ignore", "The image decoding", DeprecationWarning)
            raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            gray = decode_image(raw, mode=ImageReadMode.GRAY)[0].numpy()
    except Exception:
        raise CnnvizError(f"'{path}' is not a picture cnnviz can read (PNG, JPEG, GIF or WebP).") from None
    image = drawing_to_input(gray)  # ink dark or light: guessed from the border
    if image is None:
        raise CnnvizError(f"The picture '{path}' is blank: there is no ink to read.")
    return image


def _test_image(args):
    from cnnviz.core.data.datasets import load_split
    from cnnviz.core.errors import CnnvizError

    images, labels = load_split(args.dataset, False, args.data_dir)
    if not 0 <= args.test_index < len(images):
        raise CnnvizError(f"The test index must be 0 to {len(images) - 1}, not {args.test_index}.")
    return images[args.test_index].numpy() / 255.0, int(labels[args.test_index])


def png_bytes(rgb) -> bytes:
    """An (H, W, 3) uint8 array as a PNG file's bytes: signature, IHDR, one zlib IDAT, IEND."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    h, w, _ = rgb.shape
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def figure_title(result, names, probs) -> str:
    """The figure's one line: method, class and how sure the network is of it."""
    from cnnviz.core.inspect.attribution import METHODS

    where = f" at {result.stage}" if result.stage else ""
    return (
        f"{METHODS[result.method]}{where} for class {names[result.target]} ({100 * float(probs[result.target]):.1f} %)"
    )


def write_figure_png(image, values, path: str, *, signed: bool, title: str) -> None:
    """The attribution over the digit with a colour key and a title, as a PNG at 2x (drawn by Qt, offscreen)."""
    from PySide6.QtWidgets import QApplication

    from cnnviz.core.errors import CnnvizError
    from cnnviz.qt.widgets.attribution_figure import attribution_figure
    from cnnviz.qt.widgets.picture_file import write_png

    # A painter on a QImage needs an application (fonts); offscreen, so no display is needed (an offscreen
    # platform already chosen, with its screen's settings, is kept: the tests' 1920x1080 one).
    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    argv = ["cnnviz"] if chosen.startswith("offscreen") else ["cnnviz", "-platform", "offscreen"]
    app = QApplication.instance() or QApplication(argv)
    try:
        write_png(attribution_figure(image, values, signed=signed, title=title, scale=2.0), Path(path))
    except CnnvizError:
        raise
    except Exception as exc:  # encoding failed: one sentence, not a traceback
        raise CnnvizError(f"Could not write the figure to '{path}' ({type(exc).__name__}).") from None
    del app


def run(args) -> int:
    """Run ``cnnviz explain`` with parsed arguments; prints text or JSON."""
    import numpy as np

    from cnnviz.core.data.datasets import class_names
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.inspect.activations import predict

    if not args.layer and not args.attribution:
        raise CnnvizError("Say what to explain: a unit with --layer (and --channel/--y/--x) or --attribution METHOD.")
    if args.out and not args.attribution:
        raise CnnvizError("--out writes an attribution map: add --attribution METHOD.")
    if args.out:
        from cnnviz.core.data.files import check_writable

        check_writable(args.out, what="figure")  # before the work, not after it
    names = class_names(args.dataset)
    model, model_name, weights = _load_model(args)
    if args.image:
        image, label, source = read_picture(args.image), None, args.image
    else:
        (image, label), source = _test_image(args), f"{args.dataset} test image {args.test_index}"
    probs = predict(model, image)
    k = int(np.argmax(probs))
    report: dict = {
        "model": model_name,
        "dataset": args.dataset,
        "weights": weights,
        "image": {"source": source, "label": label},
        "prediction": {"class": k, "name": names[k], "probabilities": [float(p) for p in probs]},
    }
    if args.layer:
        from cnnviz.core.inspect.unit_inspector import inspect_unit

        report["unit"] = inspect_unit(model, image, args.layer, args.channel, args.y, args.x, top=args.top).as_dict()
    if args.attribution:
        from cnnviz.core.inspect.attribution import SIGNED_METHODS, attribute

        result = attribute(model, image, args.attribution, target=args.target, stage=args.stage)
        report["attribution"] = result.as_dict()
        if args.out:
            title = figure_title(result, names, probs)
            write_figure_png(image, result.map, args.out, signed=args.attribution in SIGNED_METHODS, title=title)
            report["attribution"]["out"] = args.out
    if args.json:
        print(json.dumps(report))
    else:
        from cnnviz.core.inspect.step_text import report_text

        print(report_text(report, names))
    return 0
