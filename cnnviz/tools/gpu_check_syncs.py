"""The GPU check's sync count: how often the training loop waits for the device.

The loop reads its numbers back once per report (``loop._read_back``, ~30 a
second), never per batch. Here the core's generator runs ``steps`` batches of
the modern LeNet with the app's report interval, in this process, and counts:
batches, reports, read-backs, and on CUDA every other host synchronisation that
``torch.cuda.set_sync_debug_mode("warn")`` sees once training is under way (the
set-up, moving the data and model to the device, syncs by nature).
"""

from __future__ import annotations

import warnings


def part_syncs(device: str, data_dir, steps: int) -> dict:
    import torch

    from cnnviz.core.training import loop
    from cnnviz.core.training.loop import BatchStats, TrainConfig, train

    read_backs = []
    original = loop._read_back
    cuda = device.startswith("cuda")

    def counted(values):  # the one planned wait: counted, and not reported as a hidden sync
        read_backs.append(1)
        if not cuda:
            return original(values)
        mode = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode(0)
        try:
            return original(values)
        finally:
            torch.cuda.set_sync_debug_mode(mode)

    hidden: list[str] = []
    batches = reports = 0
    loop._read_back = counted
    try:
        run = train(TrainConfig(model="lenet", device=device), data_dir=data_dir, max_steps=steps)
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if cuda:
                    torch.cuda.set_sync_debug_mode("warn" if reports else 0)
                try:
                    event = next(run)
                except StopIteration:
                    break
                finally:
                    if cuda:
                        torch.cuda.set_sync_debug_mode(0)
            hidden += [f"{w.filename}:{w.lineno}" for w in caught if "called a synchronizing" in str(w.message)]
            if isinstance(event, BatchStats):
                reports += 1
                batches += event.batches
    finally:
        loop._read_back = original
    return {
        "status": "ok",
        "device": device,
        "batches": batches,
        "reports": reports,
        "read_backs": len(read_backs),
        "read_backs_per_batch": round(len(read_backs) / max(1, batches), 4),
        "hidden_syncs": len(hidden) if cuda else None,  # None: only CUDA can count them
        "hidden_sync_places": {place: hidden.count(place) for place in sorted(set(hidden))},  # file:line -> count
    }
