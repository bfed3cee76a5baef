"""The `cnnviz` command line: the app by default, plus models/layers/train/eval/explain/bench."""


def main(argv=None) -> int:
    """Entry point of the `cnnviz` script (imported on call, so `cnnviz --help` stays light)."""
    from cnnviz.cli.commands import main as run

    code = run(argv)
    exit_despite_threads(code)
    return code


def exit_despite_threads(code: int) -> None:
    """End the process now if a thread that a user's file started would keep it alive.

    Python waits for every non-daemon thread at exit; a network file may start one that never
    ends, and the command (or the closed window) would then hang for ever.
    """
    import os
    import sys
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
