"""The `cnnviz` command line: the app by default, plus models/layers/train/eval/explain/bench."""


def main(argv=None) -> int:
    """Entry point of the `cnnviz` script (imported on call, so `cnnviz --help` stays light)."""
    from cnnviz.cli.commands import main as run

    return run(argv)
