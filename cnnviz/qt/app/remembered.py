"""Remembered settings, checked before use: a value of the wrong type is dropped, never fatal.

A settings file edited by hand, by another version or by a tool may hold ``geometry=hello`` or a
truncated byte array; passed to ``restoreGeometry`` it used to stop the app on every start.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

# key -> the check its value must pass (QSettings hands back str, int or QByteArray as stored).
_BYTES = ("geometry", "windowState")
_TEXT = ("model", "dataset", "layoutCompact", "networkDir", "weightsDir", "imageDir", "exportDir")


def _is_whole_number(value) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def drop_bad_settings(settings: QSettings) -> list[str]:
    """Remove every remembered value of the wrong type; the keys dropped (sorted)."""
    dropped = []
    for key in settings.allKeys():
        try:
            value = settings.value(key)
        except Exception:  # noqa: BLE001 - a value Qt itself cannot read back
            value = None
            ok = False
        else:
            if key in _BYTES:
                ok = isinstance(value, QByteArray | bytes) and len(value) > 0
            elif key in _TEXT:
                ok = isinstance(value, str)
            elif key == "brush":
                ok = _is_whole_number(value)
            else:
                continue
        if not ok:
            settings.remove(key)
            dropped.append(key)
    return sorted(dropped)


def dropped_message(settings: QSettings, dropped: list[str]) -> str:
    """The status-bar line for dropped settings, naming the settings file."""
    return (
        f"Ignored unreadable settings ({', '.join(dropped)}) in {settings.fileName()}; "
        f"started with the defaults for those."
    )
