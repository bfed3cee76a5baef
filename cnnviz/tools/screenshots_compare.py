"""The classic comparison as a picture: the modern LeNet with sigmoid against ReLU on Fashion-MNIST.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.screenshots_compare

trains both with the same recipe (20 epochs, Adam at 0.001, as the early tutorials
did; ``cnnviz train``'s defaults otherwise), records each run as ``cnnviz train --log``
does, puts both in the Training panel's runs list ticked, and saves the plots with
the two runs overlaid (``resources/sigmoid-vs-relu.png``), and with ``--csv`` their curves.
The same runs from the command line::

    cnnviz train --model lenet --activation sigmoid --dataset fashion-mnist --epochs 20 --lr 0.001 --log sigmoid.csv
    cnnviz train --model lenet --dataset fashion-mnist --epochs 20 --lr 0.001 --log relu.csv
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from cnnviz.qt.app.launch import create_application


def _train(activation: str, epochs: int, lr: float, data_dir) -> object:
    """One run through cnnviz.core.train, in a thread of its own (its OpenMP team ends with it)."""
    from cnnviz.core import RunLog, TrainConfig, train
    from cnnviz.core.models.lenet import lenet_variant

    config = TrainConfig(model=lenet_variant(activation), dataset="fashion-mnist", epochs=epochs, lr=lr)
    log = RunLog({**config.as_dict(), "start": "scratch"})

    def run() -> None:
        for event in train(config, data_dir=data_dir):
            log.record(event)

    thread = threading.Thread(target=run, name=f"train-{activation}")
    thread.start()
    thread.join()
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnviz.tools.screenshots_compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("resources"), help="folder for the PNG")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--csv", type=Path, help="also write both runs' curves to this CSV file")
    args = parser.parse_args(argv)
    create_application([])
    from cnnviz.core import ModelSession, set_cpu_threads
    from cnnviz.core.training.run_log import write_csv
    from cnnviz.qt.training.monitor import TrainingMonitor
    from cnnviz.tools.screenshot_common import _wait

    logs = [_train(activation, args.epochs, args.lr, args.data_dir) for activation in ("sigmoid", "relu")]
    set_cpu_threads(1)
    monitor = TrainingMonitor(ModelSession("lenet", data_dir=args.data_dir))
    monitor.resize(1100, 900)
    monitor.show()
    for log in logs:
        monitor.runs.add_log(log)
    _wait(800)
    args.out.mkdir(parents=True, exist_ok=True)
    monitor.curves.grab().save(str(args.out / "sigmoid-vs-relu.png"))
    if args.csv is not None:
        write_csv(logs, args.csv)
    for log in logs:
        print(f"{log.name}: test accuracy {100 * log.final_accuracy:.2f} % after {args.epochs} epochs")
    monitor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
