"""The ``cnnviz`` command: the app by default, plus models/layers/train/eval/bench."""

from __future__ import annotations

import argparse
import json
import sys
import time

PROCESS_START = time.perf_counter()  # the interpreter has just started: cnnviz.cli is imported first


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="dataset folder (default: $CNNVIZ_DATA_DIR, else the user data folder)")


class _Parser(argparse.ArgumentParser):
    """Argument errors are one line too (argparse would print the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _parser() -> argparse.ArgumentParser:
    from cnnviz import __version__
    from cnnviz.core.data import DATASETS
    from cnnviz.core.training import DEFAULT_LR, OPTIMIZERS, SCHEDULES, TrainConfig

    parser = _Parser(prog="cnnviz", description="Draw digits and watch classic CNNs think and learn.")
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("gui", help="open the desktop app (the default)")

    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("layers", help="layer table of one model")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="train a model and save its weights")
    p.add_argument("--model", default="lenet")
    p.add_argument("--dataset", default="mnist", choices=list(DATASETS))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    lrs = f"{DEFAULT_LR['adam']:g} Adam/AdamW, {DEFAULT_LR['sgd']:g} SGD"
    p.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {lrs})")
    p.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS))
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", default="onecycle", choices=list(SCHEDULES))
    p.add_argument("--augment", action="store_true", help="random shifts, rotations and scaling")
    p.add_argument("--mirror", action="store_true", help="flip half the images left-right (Fashion-MNIST, not digits)")
    p.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="weights file to write (default: MODEL-DATASET.safetensors)")
    p.add_argument("--init", help="start from these weights instead of from scratch")
    p.add_argument(
        "--target-accuracy",
        type=float,
        metavar="ACC",
        help="stop at the first epoch whose test accuracy reaches ACC (e.g. 0.99) and report the time",
    )
    _add_data_dir(p)

    p = sub.add_parser("eval", help="test accuracy and confusion matrix of a weights file")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--weights", help="a weights file")
    target.add_argument("--shipped", action="store_true", help="every file in weights/: the README's model table")
    p.add_argument("--dataset", choices=list(DATASETS), help="default: the file's dataset")
    p.add_argument("--model", help="the model a legacy .pt/.pth state dict is for (safetensors files say it)")
    p.add_argument("--json", action="store_true")
    _add_data_dir(p)

    p = sub.add_parser("bench", help="measure training speed and per-model latency")
    p.add_argument("--app", action="store_true", help="benchmark the desktop app instead (stroke latency, stalls)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    _add_data_dir(p)
    return parser


def _cmd_models(args) -> None:
    from cnnviz.core.layers import layer_table, total_connections
    from cnnviz.core.registry import build_model, list_models

    rows = []
    for spec in list_models():
        table = layer_table(build_model(spec.name))
        rows.append(
            {
                "name": spec.name,
                "display_name": spec.display_name,
                "params": spec.num_params,
                "connections": total_connections(table),
                "reference": spec.reference,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'name':<10} {'model':<24} {'params':>9} {'connections':>12}  reference")
    for r in rows:
        print(f"{r['name']:<10} {r['display_name']:<24} {r['params']:>9,} {r['connections']:>12,}  {r['reference']}")


def _cmd_layers(args) -> None:
    from cnnviz.core.layers import layer_table
    from cnnviz.core.registry import build_model, get_spec

    spec = get_spec(args.model)
    table = layer_table(build_model(spec.name))
    if args.json:
        print(json.dumps([r.as_dict() for r in table], indent=2))
        return
    print(f"{spec.display_name}")
    print(f"{'layer':<12} {'type':<42} {'output':<12} {'params':>9} {'connections':>12}")
    for r in table:
        shape = "x".join(map(str, r.output_shape))
        print(f"{r.name:<12} {r.type:<42} {shape:<12} {r.params:>9,} {r.connections:>12,}")
    print(
        f"{'total':<12} {'':<42} {'':<12} {sum(r.params for r in table):>9,} {sum(r.connections for r in table):>12,}"
    )


def config_from_args(args):
    """The ``TrainConfig`` of a parsed ``cnnviz train`` command line."""
    from cnnviz.core.training import TrainConfig

    return TrainConfig(
        model=args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        augment=args.augment,
        mirror=args.mirror,
        label_smoothing=args.label_smoothing,
        device=args.device,
        seed=args.seed,
    )


def _writable_weights_path(out: str) -> str:
    """Check the output before hours of training, not after."""
    import os
    from pathlib import Path

    from cnnviz.core.errors import CnnvizError

    path = Path(out)
    if path.suffix != ".safetensors":
        raise CnnvizError(f"Weights are saved as safetensors: name the file '{path.with_suffix('.safetensors')}'.")
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise CnnvizError(f"The folder '{folder}' for '{out}' does not exist.")
    if not os.access(folder, os.W_OK):
        raise CnnvizError(f"Cannot write to the folder '{folder}'.")
    return out


def _cmd_train(args) -> None:
    from tqdm import tqdm

    from cnnviz.core.checkpoint import build_metadata, load_checkpoint, save_checkpoint
    from cnnviz.core.data import load_split
    from cnnviz.core.device import resolve_device
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.registry import build_model
    from cnnviz.core.training import BatchStats, EpochStats, TrainControl, train

    config = config_from_args(args)
    out = _writable_weights_path(args.out or f"{args.model}-{args.dataset}.safetensors")
    # Seeded: torch 2.15 starts each process's generator from a random seed.
    model = load_checkpoint(args.init, args.model)[0] if args.init else build_model(args.model, seed=args.seed)
    device = resolve_device(args.device)
    load_split(args.dataset, True, args.data_dir)  # a missing dataset fails here, before the bar
    print(f"training {args.model} on {args.dataset} ({device}), {args.epochs} epoch(s) -> {out}")
    bar = None
    history = []
    control = TrainControl()
    reached = None
    for event in train(config, model=model, control=control, data_dir=args.data_dir):
        if isinstance(event, BatchStats):
            if bar is None:
                bar = tqdm(total=event.total_steps, unit="batch", dynamic_ncols=True, file=sys.stderr)
            bar.update(event.batches)  # one event per report (~30 Hz), covering every batch since the last
            bar.set_postfix(loss=f"{event.loss:.3f}", img_s=f"{event.images_per_second:,.0f}", refresh=False)
        elif isinstance(event, EpochStats):
            history.append(event.test_accuracy)
            (bar.write if bar else print)(
                f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} acc {100 * event.train_accuracy:.2f}% | "
                f"test loss {event.test_loss:.4f} acc {100 * event.test_accuracy:.2f}% | {event.seconds:.1f}s"
            )
            if args.target_accuracy is not None and reached is None and event.test_accuracy >= args.target_accuracy:
                reached = time.perf_counter() - PROCESS_START
                (bar.write if bar else print)(
                    f"reached {100 * event.test_accuracy:.2f}% test accuracy {reached:.2f} s after process start"
                )
                control.stop()
        else:
            ended = event
    if bar:
        bar.close()
    if ended.reason == "diverged":
        raise CnnvizError(ended.message)
    if args.target_accuracy is not None and reached is None:
        print(f"target accuracy {100 * args.target_accuracy:.2f}% not reached")
    meta = build_metadata(
        args.model,
        model,
        dataset=args.dataset,
        epochs=ended.epochs_completed,
        test_accuracy=ended.test_accuracy,
        recipe=config.as_dict(),
        device=ended.device,
        training_seconds=round(ended.seconds, 1),
        test_accuracy_history=history,
    )
    save_checkpoint(out, model, meta)
    summary = f"Reached the target after {ended.epochs_completed} epoch(s)." if reached is not None else ended.message
    print(f"{summary} Saved {out}")


def _cmd_eval(args) -> None:
    from cnnviz.core.checkpoint import load_checkpoint
    from cnnviz.core.data import class_names
    from cnnviz.core.evaluate import evaluate

    if args.shipped:
        _shipped_table(args)
        return
    model, meta = load_checkpoint(args.weights, args.model)
    dataset = args.dataset or meta.get("dataset") or "mnist"
    result = evaluate(model, dataset, args.data_dir)
    if args.json:
        print(
            json.dumps(
                {
                    "weights": args.weights,
                    "model": meta["model"],
                    "dataset": dataset,
                    "metadata_test_accuracy": meta.get("test_accuracy"),
                    **result.as_dict(),
                }
            )
        )
        return
    names = class_names(dataset)
    print(
        f"{meta['model']} on {dataset}: test accuracy {100 * result.accuracy:.2f}% "
        f"({len(result.misclassified)} of {result.confusion.sum()} wrong)"
    )
    print("confusion matrix (rows: true class, columns: predicted)")
    print("      " + " ".join(f"{i:>5}" for i in range(10)))
    for i, row in enumerate(result.confusion):
        print(
            f"{i:>5} " + " ".join(f"{v:>5}" for v in row) + f"   {names[i]} {100 * result.per_class_accuracy[i]:.1f}%"
        )


def train_command(recipe: dict, out: str) -> str:
    """The ``cnnviz train`` line that reproduces a recorded recipe."""
    from cnnviz.core.training import TrainConfig

    defaults = {"momentum": 0.9, "nesterov": True, "weight_decay": 0.0, "device": "auto",
                "label_smoothing": TrainConfig.label_smoothing}  # fmt: skip
    parts = ["cnnviz train"]
    for key, value in recipe.items():
        if key in ("threads",) or defaults.get(key, object()) == value or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts += [flag] if value else []
        elif key not in ("momentum", "nesterov"):
            parts += [flag, str(value)]
    return " ".join([*parts, "--out", out])


def _shipped_table(args) -> None:
    from cnnviz.core.checkpoint import load_checkpoint
    from cnnviz.core.evaluate import evaluate
    from cnnviz.core.layers import layer_table, total_connections
    from cnnviz.core.registry import build_model, list_models
    from cnnviz.core.resources import pretrained_path

    print("| model | parameters | connections | MNIST | Fashion-MNIST | training (MNIST / Fashion) |")
    print("|---|---:|---:|---:|---:|---|")
    commands = []
    for spec in list_models():
        cells, times = [], []
        for dataset in ("mnist", "fashion-mnist"):
            path = pretrained_path(spec.name, dataset)
            if not path.exists():
                cells.append("not shipped")
                continue
            model, meta = load_checkpoint(path, spec.name)
            cells.append(f"{100 * evaluate(model, dataset, args.data_dir).accuracy:.2f}%")
            times.append(
                f"{meta.get('epochs')} ep, {meta.get('training_seconds', 0) / 60:.0f} min {meta.get('device', '?')}"
            )
            commands.append(train_command(meta["recipe"], f"weights/{path.name}"))
        connections = total_connections(layer_table(build_model(spec.name)))
        print(
            f"| {spec.display_name} (`{spec.name}`) | {spec.num_params:,} | {connections:,} | {cells[0]} | {cells[1]} | "
            f"{' / '.join(times)} |"
        )
    print("\nTo reproduce (with CNNVIZ_DATA_DIR pointing at the datasets):\n")
    print("```bash")
    print("\n".join(commands))
    print("```")


def _cmd_bench(args) -> None:
    if args.app:
        from cnnviz.qt.bench import run as run_app_bench

        run_app_bench(data_dir=args.data_dir, quick=args.quick)
        return
    from cnnviz.core.bench import run

    run(args.data_dir, batches=150 if args.quick else 400, rounds=1 if args.quick else 3)


def _cmd_gui(args) -> int:
    from cnnviz.qt.app import main as app_main

    return app_main()


COMMANDS = {
    "models": _cmd_models,
    "layers": _cmd_layers,
    "train": _cmd_train,
    "eval": _cmd_eval,
    "bench": _cmd_bench,
    "gui": _cmd_gui,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from cnnviz.core.errors import CnnvizError

    try:
        result = COMMANDS[args.command or "gui"](args)
    except CnnvizError as exc:
        print(f"cnnviz: error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cnnviz: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; the type says where to look
        print(f"cnnviz: unexpected error: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
