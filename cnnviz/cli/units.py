"""``cnnviz units`` and ``cnnviz embed``: what each unit has learned, and the map of the test set.

For lecture notes and tests (numbers in JSON)::

    cnnviz units --model lenet5 --layer C3 --channel 4 --visualise --out c3-4.png --json
    cnnviz embed --model lenet --method tsne --n 2000 --image seven.png --json

Heavy imports wait until the command runs, so ``cnnviz --help`` stays light.
"""

from __future__ import annotations

import json

from cnnviz.cli.arguments import add_network_arguments, whole_number


def add_parsers(subparsers) -> None:
    """Register ``units`` and ``embed`` on the ``cnnviz`` command's subparsers."""
    p = subparsers.add_parser("units", help="a channel's strongest test images and the picture it likes most")
    add_network_arguments(p)
    p.add_argument("--layer", required=True, help="the channel's stage (see: cnnviz layers MODEL)")
    p.add_argument(
        "--channel", type=whole_number(0, 100_000, "the channel"), default=0, help="channel (a vector stage: unit)"
    )
    p.add_argument("--top", type=whole_number(1, 100, "--top"), default=9, help="how many test images (default: 9)")
    p.add_argument("--visualise", action="store_true", help="also compute the maximised picture")
    p.add_argument("--steps", type=whole_number(1, 5000, "--steps"), default=256, help="gradient-ascent steps (256)")
    p.add_argument("--out", help="write the maximised picture as a PNG (with --visualise)")

    p = subparsers.add_parser("embed", help="the test set's map at one stage (PCA or t-SNE), and a picture in it")
    add_network_arguments(p)
    p.add_argument("--layer", help="the stage whose features are mapped (default: the one before the scores)")
    p.add_argument("--method", choices=("pca", "tsne"), default="pca", help="projection (default: pca)")
    p.add_argument(
        "--n", type=whole_number(10, 100_000, "--n"), default=2000, help="test images to map (default: 2000)"
    )
    p.add_argument("--image", help="a picture file (a drawing) to place in the map")


def _stage_shape(model, layer: str) -> tuple[int, ...]:
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.inspect.description import describe

    try:
        layers = {row.name: row.output_shape for row in describe(model).layers}
    except CnnvizError:
        raise
    except BaseException as exc:  # a user's network
        raise CnnvizError(f"The network failed on an empty input ({type(exc).__name__}: {exc}).") from exc
    if not layers.get(layer):
        raise CnnvizError(
            f"The model has no stage '{layer}'; choose one of: {', '.join(n for n in layers if layers[n])}."
        )
    return layers[layer]


def run_units(args) -> int:
    from cnnviz.cli.explain import _load_model
    from cnnviz.core.data.datasets import class_names
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.learned.topk import top_images

    if args.out and not args.visualise:
        raise CnnvizError("--out writes the maximised picture: add --visualise.")
    if args.out:
        from cnnviz.core.data.files import check_writable

        check_writable(args.out, what="picture")  # before the work, not after it
    names = class_names(args.dataset)
    model, model_name, weights = _load_model(args)
    channels = _stage_shape(model, args.layer)[0]
    if args.channel >= channels:
        raise CnnvizError(f"Stage {args.layer} has {channels} channels: the channel must be 0 to {channels - 1}.")
    top = top_images(model, args.dataset, args.layer, args.top, args.data_dir)
    report: dict = {
        "model": model_name, "dataset": args.dataset, "weights": weights, "layer": args.layer,
        "channel": args.channel, "top": top.top(args.channel),
    }  # fmt: skip
    if args.visualise:
        from cnnviz.core.learned.maximise import maximise

        *_, picture = maximise(model, args.layer, args.channel, args.steps)
        report["visualisation"] = picture.as_dict()
        if args.out:
            write_grey_png(picture.image, args.out)
            report["visualisation"]["out"] = args.out
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{model_name}, stage {args.layer}, channel {args.channel}: its {len(report['top'])} strongest test images")
    for rank, t in enumerate(report["top"], 1):
        print(
            f"  {rank:2}. test image {t['index']:5}  {names[t['label']]:>11}  value {t['value']:.4f} at y={t['y']} x={t['x']}"
        )
    if args.visualise:
        print(
            f"maximised picture: value {report['visualisation']['value']:.4f}"
            + (f", written to {args.out}" if args.out else "")
        )
    return 0


def write_grey_png(image, path: str, scale: int = 10) -> None:
    """A 28x28 picture in [0, 1] as a PNG, each pixel a ``scale``-wide square, ink white as the network sees it."""
    import numpy as np

    from cnnviz.cli.explain import png_bytes
    from cnnviz.core.data.files import write_atomic
    from cnnviz.core.errors import CnnvizError

    grey = (np.clip(image, 0, 1) * 255).round().astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    write_atomic(path, png_bytes(np.ascontiguousarray(np.stack([grey] * 3, -1))), what="picture", error=CnnvizError)


def run_embed(args) -> int:
    from cnnviz.cli.explain import _load_model, read_picture
    from cnnviz.core.inspect.description import describe
    from cnnviz.core.learned.embedding import embed, features, penultimate_stage
    from cnnviz.core.learned.stage_pass import stage_outputs

    drawing = read_picture(args.image) if args.image else None  # a bad picture fails before the work
    model, model_name, weights = _load_model(args)
    layer = args.layer or penultimate_stage([n for n in describe(model).stage_names if n != "input"])
    _stage_shape(model, layer)
    feats = features(model, args.dataset, layer, args.n, args.data_dir)
    emb = embed(feats, args.method)
    report: dict = {
        "model": model_name, "dataset": args.dataset, "weights": weights, "layer": layer, "method": args.method,
        "points": [[round(float(x), 5), round(float(y), 5)] for x, y in emb.points],
        "indices": feats.indices.tolist(), "labels": feats.labels.tolist(),
        "predictions": feats.predictions.tolist(),
    }  # fmt: skip
    if drawing is not None:
        import torch

        values = stage_outputs(model.eval(), layer, torch.as_tensor(drawing, dtype=torch.float32).reshape(1, 1, 28, 28))
        report["drawing"] = [float(v) for v in emb.place(values[0].reshape(-1).numpy())]
    if args.json:
        print(json.dumps(report))
        return 0
    wrong = int((feats.predictions != feats.labels).sum())
    print(
        f"{model_name}, stage {layer}: {len(feats.indices):,} test images mapped by {args.method} ({wrong} misclassified)"
    )
    if drawing is not None:
        print(f"the picture lands at ({report['drawing'][0]:.3f}, {report['drawing'][1]:.3f})")
    return 0
