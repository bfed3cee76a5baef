"""The README's robustness figures (issue 19), from the ``cnnviz attack/sweep/sanity`` commands' JSON.

    CNNVIZ_DATA_DIR=../shared/data python -m cnnviz.tools.robust_figures [--n 1000] [--sanity-n 20]

1. ``cnnviz sweep --transform rotate`` for the six networks -> a Markdown table and
   ``resources/screens/robust-rotation-sweep.png`` (matplotlib, which captum brings).
2. ``cnnviz attack`` (PGD, epsilon 0.15, on LeNet-5's answer for test image 0) and the
   other five networks' answers on the adversarial picture (its transfer).
3. ``cnnviz sanity`` per method on LeNet-5 and the modern LeNet: the correlation
   table and each verdict.

Each figure is printed with the command that gives its numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")
ANGLES = (-60, -45, -30, -15, 0, 15, 30, 45, 60)


def cli_json(*args: str) -> dict:
    """Run one ``cnnviz`` command in this process and parse its JSON."""
    from cnnviz.cli.commands import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--json"])
    if code != 0:
        raise SystemExit(f"cnnviz {' '.join(args)} failed ({code})")
    return json.loads(out.getvalue())


def rotation_sweep(n: int, png: Path) -> None:
    from cnnviz.core.models.registry import get_spec

    values = [str(a) for a in ANGLES]
    print(
        f"## Rotation sweep: `cnnviz sweep --model M --transform rotate --values {' '.join(values)} --n {n} --json`\n"
    )
    print("| network | " + " | ".join(f"{a}°" for a in ANGLES) + " |")
    print("|---|" + "---:|" * len(ANGLES))
    curves = {}
    for name in ZOO:
        report = cli_json("sweep", "--model", name, "--transform", "rotate", "--values", *values, "--n", str(n))
        curves[get_spec(name).display_name] = report["accuracy"]
        print(f"| {get_spec(name).display_name} | " + " | ".join(f"{100 * a:.1f}" for a in report["accuracy"]) + " |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for label, accuracy in curves.items():
        ax.plot(ANGLES, [100 * a for a in accuracy], marker="o", label=label)
    ax.set_xlabel("rotation of the 28x28 input (degrees, counter-clockwise)")
    ax.set_ylabel(f"accuracy on the first {n:,} MNIST test images (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower center")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    print(f"\nPlot: {png}\n")


def adversarial_transfer(epsilon: float, out: Path) -> None:
    import numpy as np

    from cnnviz.core.inspect.comparison import ZooComparison

    args = ("attack", "--model", "lenet5", "--test-index", "0", "--method", "pgd", "--epsilon", str(epsilon))
    report = cli_json(*args, "--out", str(out))
    print(f"## Adversarial example: `cnnviz {' '.join(args)} --out {out} --json`\n")
    before, after = report["original"], report["adversarial"]
    print(f"LeNet-5 on test image 0 (a {report['label']}): {before['class']} "
          f"({100 * max(before['probabilities']):.1f}%) -> {after['class']} "
          f"({100 * max(after['probabilities']):.1f}%) at epsilon {epsilon}.\n")  # fmt: skip
    print("| network | answer on the adversarial picture | fooled? |")
    print("|---|---|---|")
    for answer in ZooComparison("mnist").predict(np.array(after["image"], np.float32)):
        fooled = "yes" if answer["top"] != report["label"] else "no"
        print(f"| {answer['display_name']} | {answer['top']} ({100 * answer['confidence']:.1f}%) | {fooled} |")
    print(f"\nPicture: {out}\n")


def sanity_table(n: int) -> None:
    from cnnviz.core.robust.sanity import METHODS

    for model in ("lenet5", "lenet"):
        print(f"## Sanity checks on {model}: `cnnviz sanity --model {model} --method METHOD --n {n} --json`\n")
        reports = {
            method: cli_json("sanity", "--model", model, "--method", method, "--n", str(n)) for method in METHODS
        }
        stages = reports["saliency"]["stages"]
        print("| method | " + " | ".join("trained" if s == "(original)" else f"-{s}" for s in stages) + " |")
        print("|---|" + "---:|" * len(stages))
        for method, report in reports.items():
            print(f"| {method} | " + " | ".join(f"{c:.2f}" for c in report["correlation"]) + " |")
        print()
        for report in reports.values():
            print(f"- {report['verdict']}")
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.tools.robust_figures", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="test images per sweep point (default 1000)")
    parser.add_argument("--sanity-n", type=int, default=20, help="test images per sanity check (default 20)")
    parser.add_argument("--out", type=Path, default=Path("resources/screens"), help="folder for the PNG files")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rotation_sweep(args.n, args.out / "robust-rotation-sweep.png")
    adversarial_transfer(0.15, args.out / "robust-adversarial.png")
    sanity_table(args.sanity_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
