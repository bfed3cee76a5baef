"""The ``cnnviz`` command: the app by default, plus models/layers/train/eval/bench."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
import threading
import time

PROCESS_START = time.perf_counter()  # the interpreter has just started: cnnviz.cli.commands is imported first

from cnnviz.cli.train_command import train_command  # noqa: E402,F401 (the CLI's name for it)


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="dataset folder (default: $CNNVIZ_DATA_DIR, else the user data folder)")


class _Parser(argparse.ArgumentParser):
    """Argument errors are one line too (argparse would print the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):
        namespace, rest = super().parse_known_args(args, namespace)
        if getattr(namespace, "command", None) == "train":  # numbers left out: the recipe's defaults
            from cnnviz.core.training.config import TrainConfig
            from cnnviz.core.training.recipe_defaults import fill_recipe_defaults

            fill_recipe_defaults(namespace, {f.name: f.default for f in dataclasses.fields(TrainConfig)})
        return namespace, rest


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _parser() -> argparse.ArgumentParser:
    from cnnviz import __version__
    from cnnviz.core.data.catalog import DATASETS
    from cnnviz.core.training.config import DEFAULT_LR, OPTIMIZERS, SCHEDULES, TrainConfig

    parser = _Parser(prog="cnnviz", description="Draw digits and watch classic CNNs think and learn.")
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    own = "your own network: PATH.py:NAME (a class or function in that file; running it runs the file's code)"
    parser.add_argument("--model", dest="gui_model", metavar="PATH.py:NAME", help=f"open the app with {own}")
    lesson = "open the app with this lesson (a .cnnlesson file made with File > Save lesson)"
    parser.add_argument("--lesson", dest="gui_lesson", metavar="FILE", help=lesson)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("--model", dest="gui_model", metavar="PATH.py:NAME", default=argparse.SUPPRESS, help=own)
    p.add_argument("--lesson", dest="gui_lesson", metavar="FILE", default=argparse.SUPPRESS, help=lesson)

    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("layers", help="layer table of one model")
    p.add_argument("model", help=f"a zoo model, or {own}")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="train a model and save its weights")
    # Defaults come from TrainConfig, the one place they are decided.
    d = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    p.add_argument("--model", default=d["model"], help=f"a zoo model, or {own}")
    p.add_argument("--dataset", default=d["dataset"], choices=list(DATASETS))
    p.add_argument("--epochs", type=int, help=f"passes over the training set (default: {d['epochs']}; lecun1998: 20)")
    p.add_argument("--batch-size", type=int, help=f"(default: {d['batch_size']}; lecun1998: 10)")
    p.add_argument("--recipe", choices=["lecun1998"], help="lenet5 only: the 1998 paper's SDLM, MAP loss and schedule "
                   "(replaces --optimizer, --schedule, --label-smoothing; --lr scales its schedule)")  # fmt: skip
    p.add_argument("--distort", action="store_true", help="lecun1998: the paper's random affine distortions")
    lr_help = ", ".join(f"{lr:g} {name}" for name, lr in DEFAULT_LR.items()) + ", / sqrt(epochs); lenet5 a quarter"
    p.add_argument("--lr", type=float, default=d["lr"], help=f"peak learning rate (default: {lr_help})")
    p.add_argument("--optimizer", default=d["optimizer"], choices=list(OPTIMIZERS))
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    p.add_argument("--schedule", default=d["schedule"], choices=list(SCHEDULES))
    p.add_argument("--betas", type=float, nargs=2, metavar=("B1", "B2"), default=d["betas"],
                   help="Adam's moment decays (default: 0.8 0.9; torch's own are 0.9 0.999)")  # fmt: skip
    p.add_argument("--warmup", type=float, default=d["warmup"], metavar="SHARE",
                   help="one-cycle: the share of the run warming up (default: 0.05)")  # fmt: skip
    p.add_argument("--cycle-momentum", action="store_true", help="one-cycle: swing momentum against the rate")
    p.add_argument("--activation", choices=("relu", "sigmoid", "tanh"), default="relu",
                   help="the modern LeNet's activation: sigmoid as the early tutorials (default: relu)")  # fmt: skip
    p.add_argument("--augment", action="store_true", help="random shifts, rotations and scaling")
    p.add_argument("--mirror", action="store_true", help="flip half the images left-right (Fashion-MNIST, not digits)")
    p.add_argument("--label-smoothing", type=float, default=d["label_smoothing"])
    p.add_argument("--device", default=d["device"], help="auto, cpu, cuda or mps")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--out", help="weights file to write (default: MODEL-DATASET.safetensors)")
    p.add_argument("--init", help="start from these weights instead of from scratch")
    p.add_argument(
        "--log",
        metavar="CSV",
        help="write every batch's loss and learning rate, and each epoch's "
        "accuracies, to this CSV file (the app's runs list exports the same columns), with each "
        "stage's gradient norm, update/weight ratio and dead-unit share (<stage>/grad_norm, ...) "
        "about 30 times a second",
    )
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
    p.add_argument(
        "--model",
        help="the model a legacy .pt/.pth state dict is for (safetensors files say it); PATH.py:NAME for your own network",
    )
    p.add_argument("--json", action="store_true")
    _add_data_dir(p)

    p = sub.add_parser("bench", help="measure training speed and per-model latency")
    p.add_argument("--app", action="store_true", help="benchmark the desktop app instead (stroke latency, stalls)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    _add_data_dir(p)

    from cnnviz.cli.explain import add_parser as add_explain_parser

    add_explain_parser(sub)
    from cnnviz.cli.units import add_parsers as add_units_parsers

    add_units_parsers(sub)

    from cnnviz.cli.robust import add_parsers as add_robust_parsers

    add_robust_parsers(sub)
    return parser


def _cmd_models(args) -> None:
    from cnnviz.core.inspect.layers import layer_table, total_connections
    from cnnviz.core.models.registry import build_model, list_models

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
    from cnnviz.core.inspect.layers import layer_table
    from cnnviz.core.models.registry import build_model, get_spec
    from cnnviz.core.models.user_model import resolve_model_name

    spec = get_spec(resolve_model_name(args.model))
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
    from cnnviz.core.training.loop import TrainConfig

    return TrainConfig(
        recipe=args.recipe,
        distort=args.distort,
        model=args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        betas=tuple(args.betas) if args.betas else None,
        warmup=args.warmup,
        cycle_momentum=args.cycle_momentum,
        augment=args.augment,
        mirror=args.mirror,
        label_smoothing=args.label_smoothing,
        device=args.device,
        seed=args.seed,
    )


def check_train_numbers(args) -> None:
    """Every numeric option of ``cnnviz train`` finite and in range, or one sentence naming it.

    The rules are ``TrainConfig``'s (``check_numbers``), named as options here; only
    ``--target-accuracy`` is the command's own.
    """
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.training.config import NUMBER_RULES, check_numbers

    check_numbers(args, {field: "--" + field.replace("_", "-") for field, *_ in NUMBER_RULES})
    target = args.target_accuracy
    if target is not None and not (isinstance(target, float | int) and math.isfinite(target) and 0 < target <= 1):
        meaning = "a finite number" if not math.isfinite(target) else "above 0 and at most 1, e.g. 0.99"
        raise CnnvizError(f"--target-accuracy must be {meaning} (got {target}).")


def _writable_weights_path(out: str) -> str:
    """Check the output before hours of training, not after (its free space once the model is built)."""
    from pathlib import Path

    from cnnviz.core.data.files import check_writable
    from cnnviz.core.errors import CnnvizError

    path = Path(out)
    if path.suffix != ".safetensors":
        raise CnnvizError(f"Weights are saved as safetensors: name the file '{path.with_suffix('.safetensors')}'.")
    if path.is_dir():
        raise CnnvizError(f"'{out}' is a folder; name a weights file to write, e.g. '{path / 'weights.safetensors'}'.")
    check_writable(path, what="weights file")
    return out


def _cmd_train(args) -> None:
    from tqdm import tqdm

    from cnnviz.core.data.datasets import load_split
    from cnnviz.core.errors import CnnvizError
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.models.user_model import resolve_model_name, weights_stem
    from cnnviz.core.training.device import resolve_device
    from cnnviz.core.training.loop import EpochStats
    from cnnviz.core.training.run import Progress, TrainingRun
    from cnnviz.core.training.run_log import RunLog
    from cnnviz.core.weights.checkpoint import load_checkpoint, save_checkpoint

    check_train_numbers(args)
    args.model = resolve_model_name(args.model)  # my_net.py:Net is loaded (and checked) here
    if args.activation != "relu":  # the sigmoid or tanh LeNet is a registered variant of the modern LeNet
        from cnnviz.core.models.lenet import lenet_variant

        if args.model != "lenet":
            raise CnnvizError("--activation is a setting of the modern LeNet: use it with --model lenet.")
        args.model = lenet_variant(args.activation)
    if args.recipe and args.model == "lenet5":  # the 1998 recipe's LeNet-5 is registered (and saved) under its name
        from cnnviz.core.training.lecun1998 import DISTORT_VARIANT, VARIANT

        args.model = DISTORT_VARIANT if args.distort else VARIANT
    config = config_from_args(args)
    out = _writable_weights_path(args.out or f"{weights_stem(args.model)}-{args.dataset}.safetensors")
    # Seeded: torch 2.15 starts each process's generator from a random seed.
    model = load_checkpoint(args.init, args.model)[0] if args.init else build_model(args.model, seed=args.seed)
    from cnnviz.core.data.files import check_writable
    from cnnviz.core.weights.checkpoint import expected_size

    check_writable(out, what="weights file", needed=expected_size(model))  # a full disk: said now, not after the run
    device = resolve_device(args.device)
    load_split(args.dataset, True, args.data_dir)  # a missing dataset fails here, before the bar
    print(f"training {args.model} on {args.dataset} ({device}), {args.epochs} epoch(s) -> {out}")
    bar = None
    history = []
    reached = first_batch = None
    run = TrainingRun(config, model, args.data_dir, layer_stats=bool(args.log))  # --log: the per-stage columns too
    log = RunLog({**config.as_dict(), "start": "current" if args.init else "scratch"}) if args.log else None
    if log is not None:
        log.to_csv(args.log)  # a path that cannot be written fails now, not after training
    for event in run.reports():
        if log is not None:
            log.record(event)
        if isinstance(event, Progress):  # the first group's own clock says when its first batch began
            first_batch = first_batch or time.perf_counter() - event.elapsed
            if bar is None:
                bar = tqdm(total=event.total_steps, unit="batch", dynamic_ncols=True, file=sys.stderr)
            bar.update(len(event.steps))  # one report (~30 Hz), covering every batch since the last
            bar.set_postfix(loss=f"{event.loss:.3f}", img_s=f"{event.images_per_second:,.0f}", refresh=False)
        elif isinstance(event, EpochStats):
            history.append(event.test_accuracy)
            (bar.write if bar else print)(
                f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} acc {100 * event.train_accuracy:.2f}% | "
                f"test loss {event.test_loss:.4f} acc {100 * event.test_accuracy:.2f}% | {event.seconds:.1f}s"
            )
            if args.target_accuracy is not None and reached is None and event.test_accuracy >= args.target_accuracy:
                reached, since_first = time.perf_counter() - PROCESS_START, time.perf_counter() - first_batch
                (bar.write if bar else print)(
                    f"reached {100 * event.test_accuracy:.2f}% test accuracy {reached:.2f} s after process start, "
                    f"{since_first:.2f} s after the first batch"
                )
                run.stop()
    ended = run.end
    if bar:
        bar.close()
    if log is not None:  # a diverged run's curves are worth keeping too
        print(f"Wrote {log.batches:,} batches to {log.to_csv(args.log)}")
    if ended.reason in ("diverged", "error"):  # nothing is written over an existing --out
        raise CnnvizError(ended.message)
    if args.target_accuracy is not None and reached is None:
        print(f"target accuracy {100 * args.target_accuracy:.2f}% not reached")
    # The run's metadata (the same the app adopts), plus the command's history of the test accuracy.
    meta = {**ended.metadata, "training_seconds": round(ended.seconds, 1), "test_accuracy_history": history}
    save_checkpoint(out, model, meta)
    summary = f"Reached the target after {ended.epochs_completed} epoch(s)." if reached is not None else ended.message
    print(f"{summary} Saved {out}")


def _cmd_eval(args) -> None:
    from cnnviz.cli.evaluate import run_eval

    run_eval(args)


def _cmd_bench(args) -> None:
    if args.app:
        from cnnviz.tools.bench_app import run as run_app_bench

        run_app_bench(data_dir=args.data_dir, quick=args.quick)
        return
    from cnnviz.tools.bench_core import run

    run(args.data_dir, batches=150 if args.quick else 400, rounds=1 if args.quick else 3)


def _cmd_gui(args) -> int:
    from cnnviz.qt.app.launch import main as app_main

    return app_main(model=getattr(args, "gui_model", None), lesson=getattr(args, "gui_lesson", None))


def _cmd_explain(args) -> int:
    from cnnviz.cli.explain import run

    return run(args)


def _cmd_units(args) -> int:
    from cnnviz.cli.units import run_units

    return run_units(args)


def _cmd_embed(args) -> int:
    from cnnviz.cli.units import run_embed

    return run_embed(args)


def _cmd_robust(args) -> int:
    from cnnviz.cli.robust import COMMANDS as ROBUST

    return ROBUST[args.command](args)


COMMANDS = {"explain": _cmd_explain, "models": _cmd_models, "layers": _cmd_layers, "train": _cmd_train,
            "units": _cmd_units, "embed": _cmd_embed, "eval": _cmd_eval, "bench": _cmd_bench, "gui": _cmd_gui,
            "attack": _cmd_robust, "sweep": _cmd_robust, "sanity": _cmd_robust}  # fmt: skip


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl+C so that cleanups (a half-written weights file) run."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from cnnviz.core.errors import CnnvizError

    command = args.command or "gui"
    # The app has its own shutdown; the other commands turn SIGTERM into an exception.
    handle_term = command != "gui" and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if handle_term else None
    try:
        result = COMMANDS[command](args)
    except CnnvizError as exc:
        print(f"cnnviz: error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except SystemExit as exc:  # a user's network called sys.exit() during the command: one sentence
        print(
            f"cnnviz: error: the network's code called sys.exit({exc.code!r}); nothing was finished.", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"cnnviz: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except Exception as exc:  # never a traceback for the user; the type says where to look
        print(f"cnnviz: unexpected error: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        if handle_term:
            signal.signal(signal.SIGTERM, previous)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
