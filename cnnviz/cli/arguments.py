"""Arguments several ``cnnviz`` commands share: checked by argparse, so a bad value is one line and exit 2."""

from __future__ import annotations

import argparse


def whole_number(low: int, high: int, what: str = ""):
    """An argparse ``type`` for a whole number from ``low`` to ``high``; ``what`` opens the range's message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low} to {high:,}, not {text}".lstrip())
        return value

    return parse


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    """--model, --dataset, --weights, --json and --data-dir, as the commands on one network take them."""
    p.add_argument("--model", help="zoo model or PATH.py:NAME (default: the weights file's model, else lenet5)")
    p.add_argument("--dataset", default="mnist", help="mnist or fashion-mnist (default: mnist)")
    p.add_argument("--weights", help="weights file (default: the shipped weights for the model and dataset)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--data-dir", help="dataset folder (default: $CNNVIZ_DATA_DIR, else the user data folder)")
