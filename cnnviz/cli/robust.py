"""``cnnviz attack``, ``cnnviz sweep`` and ``cnnviz sanity``: when a network fails, and whether its maps explain it.

    cnnviz attack --model lenet --test-index 0 --method pgd --epsilon 0.2 --json
    cnnviz sweep --model resnet --transform rotate --values -45 -30 -15 0 15 30 45 --n 1000 --json
    cnnviz sanity --model lenet5 --method guided --n 20 --json

Heavy imports (torch, captum) wait until a command runs, so ``cnnviz --help`` stays light.
"""

from __future__ import annotations

import argparse
import json
import math

from cnnviz.cli.arguments import add_network_arguments, whole_number

ATTACKS = ("fgsm", "pgd")
TRANSFORMS = ("rotate", "shift-x", "shift-y", "scale", "thickness", "noise", "occlude")  # core.robust.distort's
SANITY_METHODS = ("saliency", "gradcam", "guided", "ig")
MAX_N = 100_000


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def _epsilon(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1 (a share of full ink), not {text}")
    return value


def add_parsers(subparsers) -> None:
    """Register ``attack``, ``sweep`` and ``sanity`` on the ``cnnviz`` command's subparsers."""
    from cnnviz.cli.explain import _class_index

    p = subparsers.add_parser("attack", help="an adversarial example (FGSM or PGD) and the network's answers")
    add_network_arguments(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="a picture file (PNG, JPEG): dark ink on light paper or the reverse")
    source.add_argument("--test-index", type=int, metavar="I", help="image I of the dataset's test split")
    p.add_argument("--method", choices=ATTACKS, default="fgsm", help="fgsm (one step) or pgd (20 steps)")
    p.add_argument("--epsilon", type=_epsilon, required=True, metavar="E",
                   help="how far each pixel may move (L-infinity), 0 to 1 of full ink")  # fmt: skip
    p.add_argument("--target", type=_class_index, metavar="K", help="aim at class K (default: any wrong class)")
    p.add_argument("--out", help="write the adversarial picture as a PNG (28x28, white ink on black)")

    p = subparsers.add_parser("sweep", help="accuracy on N test images as one distortion varies")
    add_network_arguments(p)
    p.add_argument("--transform", choices=TRANSFORMS, required=True)
    p.add_argument("--values", type=_number, nargs="+", metavar="V",
                   help="values to try (default: a range around the identity: rotate 0, shift 0, scale 1, ...)")  # fmt: skip
    p.add_argument("--n", type=whole_number(1, MAX_N), default=1000, help="the first N test images (default: 1000)")

    p = subparsers.add_parser("sanity", help="sanity check of an attribution method (cascading randomisation)")
    add_network_arguments(p)
    p.add_argument("--method", choices=SANITY_METHODS, required=True)
    p.add_argument(
        "--n", type=whole_number(1, MAX_N), default=20, help="the first N test images to average over (default: 20)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: 0)")


def _model(args):
    from cnnviz.cli.explain import _load_model

    model, name, _ = _load_model(args)
    return model.eval(), name


def run_attack(args) -> int:
    from cnnviz.cli.explain import _test_image, read_picture
    from cnnviz.core.data.files import check_writable
    from cnnviz.core.robust.attacks import attack

    if args.out:
        check_writable(args.out, what="picture")  # before the work, not after it
    model, name = _model(args)
    if args.image:
        image, label = read_picture(args.image), None
    else:
        image, label = _test_image(args)
    result = attack(model, image, args.method, args.epsilon, args.target)
    report = {"model": name, "dataset": args.dataset, "label": label, **result.as_dict()}
    if args.out:
        write_picture_png(result.adversarial, args.out)
        report["out"] = args.out
    if args.json:
        print(json.dumps(report))
        return 0
    o, a = report["original"], report["adversarial"]
    aim = "untargeted" if args.target is None else f"aimed at {args.target}"
    print(f"{name}, {args.method.upper()} at epsilon {args.epsilon:g} ({aim}):")
    print(f"  before: {o['class']} ({100 * max(o['probabilities']):.1f}%)")
    print(f"  after:  {a['class']} ({100 * max(a['probabilities']):.1f}%)  {'fooled' if result.succeeded else 'held'}")
    return 0


PNG_SCALE = 10  # each input pixel a 10x10 block: 280x280, readable on a slide


def write_picture_png(image, path: str) -> None:
    """A 28x28 picture in [0, 1] as an 8-bit grey PNG, scaled up like the heat maps (white ink on black)."""
    import numpy as np

    from cnnviz.cli.explain import png_bytes
    from cnnviz.core.data.files import write_atomic

    grey = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2).repeat(PNG_SCALE, axis=0).repeat(PNG_SCALE, axis=1)
    write_atomic(path, png_bytes(np.ascontiguousarray(rgb)), what="picture")


def run_sweep(args) -> int:
    from cnnviz.core.robust.sweep import DEFAULT_VALUES, check_values, sweep

    values = check_values(args.transform, args.values or list(DEFAULT_VALUES[args.transform]))  # before loading
    _check_n(args)
    model, name = _model(args)
    result = sweep(model, args.dataset, args.transform, values, n=args.n, data_dir=args.data_dir)
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    print(f"{name} on the first {result.n} {args.dataset} test images, {args.transform}:")
    for value, acc in zip(result.values, result.accuracy, strict=True):
        print(f"  {value:>8g}  {100 * acc:6.2f}%")
    return 0


def run_sanity(args) -> int:
    from cnnviz.core.robust.sanity import cascading_randomisation, verdict
    from cnnviz.core.training.evaluate import load_test_images

    _check_n(args)
    model, name = _model(args)
    images, _ = load_test_images(args.dataset, range(args.n), args.data_dir)
    result = cascading_randomisation(model, images, args.method, seed=args.seed)
    if args.json:
        print(json.dumps({"model": name, **result.as_dict()}))
        return 0
    print(f"{name}, {args.method}: mean Spearman correlation with the trained network's maps ({result.n} images)")
    for stage, corr in zip(result.stages, result.correlation, strict=True):
        print(f"  {stage:<14} {corr:6.2f}")
    print(verdict(args.method, result.correlation))
    return 0


def _check_n(args) -> None:
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.training.evaluate import count_test_images

    available = count_test_images(args.dataset, args.data_dir)
    if args.n > available:
        raise CnnvizError(f"--n must be at most {available}: the {args.dataset} test split has {available} images.")


COMMANDS = {"attack": run_attack, "sweep": run_sweep, "sanity": run_sanity}
