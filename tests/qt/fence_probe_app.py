"""Run by tests/qt/test_fence_real_x.py in a process of its own (on a real X server when there is one).

``open``: open a network whose forward never returns; print the longest wait of a 10 ms timer
while the probe runs, and the error sentence.  ``close``: start training a network stuck inside
its forward for training batches, close the window, and let ``launch`` end the process.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer

NET = """import time
from torch import nn
class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.fc = nn.Linear(784, 10)
    def forward(self, x):
        {stuck}
        return self.fc(x.flatten(1))
"""


def main(mode: str, folder: str) -> int:
    from cnnviz.qt.app import launch
    from cnnviz.qt.app.main_window import MainWindow

    app = launch.create_application([])
    path = Path(folder) / "stuck.py"
    stuck = "while True: pass" if mode == "open" else "while x.shape[0] > 2: time.sleep(0.05)"
    path.write_text(NET.format(stuck=stuck))
    window = MainWindow(settings=QSettings(str(Path(folder) / "s.ini"), QSettings.Format.IniFormat))
    errors = []
    window.show_error = lambda title, text: errors.append(text)
    window.ask = lambda title, text, buttons: "Quit" if "Quit" in buttons else buttons[-1]
    window.show()
    gaps, last = [], [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    if mode == "open":
        start = time.monotonic()
        window.open_network(path, "Net")
        print("FENCE " + json.dumps({"max_gap": max(gaps), "ticks": len(gaps), "errors": errors,
                                     "seconds": time.monotonic() - start}), flush=True)  # fmt: skip
        return 0
    assert window.open_network(path, "Net"), errors
    window.act_train_start.trigger()
    QTimer.singleShot(8000, window.close)  # the run is inside the stuck forward by then
    app.exec()
    print("FENCE " + json.dumps({"closed": True, "abandoned": window.monitor.abandoned_run is not None}), flush=True)
    launch.end_process_if_stuck(window, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
