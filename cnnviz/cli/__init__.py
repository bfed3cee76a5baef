"""The `cnnviz` command line: the app by default, plus models/layers/train/eval/explain/bench."""


def main(argv=None) -> int:
    """Entry point of the `cnnviz` script (imported on call, so `cnnviz --help` stays light)."""
    from cnnviz.cli.commands import main as run
    from cnnviz.core.process import exit_despite_threads

    code = run(argv)
    exit_despite_threads(code)
    return code
