"""Opening a user's file once, safely: only regular files, never blocking, size-limited.

A path can name a FIFO, a device or a folder as easily as a file; ``open()`` on
a FIFO blocks until a writer appears, which freezes a window forever. So the
kind and size are checked with ``os.stat`` before anything is opened, and the
open itself is non-blocking in case the path was swapped in between.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cnnviz.core.errors import CnnvizError

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, where FIFOs are not files anyway
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def short(text: object, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, for quoting a file's contents in a one-line message."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def megabytes(n: int) -> str:
    """A size for people: "47 MB", "12 kB", "9 bytes"."""
    if n >= 1e6:
        return f"{n / 1e6:,.0f} MB"
    return f"{n / 1e3:,.0f} kB" if n >= 1e3 else f"{n} bytes"


def _check_kind(st: os.stat_result, shown: str, what: str, limit: int, error: type[CnnvizError]) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{shown} is a folder, not a {what}.")
    if not stat.S_ISREG(st.st_mode):
        raise error(
            f"{shown} is not a regular file (a pipe, device or socket), so cnnviz will not read it as a {what}."
        )
    if st.st_size > limit:
        raise error(f"{shown} is {megabytes(st.st_size)}, more than the {megabytes(limit)} cnnviz reads for a {what}.")


def _unreadable(exc: OSError, shown: str, error: type[CnnvizError]) -> CnnvizError:
    why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__).lower()
    return error(f"{shown} is unreadable ({why}).")


@contextlib.contextmanager
def open_regular(
    path: str | os.PathLike,
    *,
    what: str,
    limit: int,
    error: type[CnnvizError] = CnnvizError,
    shown: str | None = None,
) -> Iterator[tuple[BinaryIO, int]]:
    """Open a regular file of at most ``limit`` bytes for reading; yields (file, size).

    Parameters
    ----------
    path
        The file.
    what
        What the file should be, for messages ("weights file").
    limit
        Largest size accepted, in bytes; a larger file is refused before it is read.
    error
        The ``CnnvizError`` subclass raised, with one sentence.
    shown
        How the file is named in messages (default: its name in quotes).

    Raises ``error`` for a missing path, a folder, a FIFO or device, a file
    over the limit, or one that cannot be read.
    """
    path = Path(path)
    shown = shown or f"'{path.name}'"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"There is no {what} at '{path}'.") from None
    except OSError as exc:
        raise _unreadable(exc, shown, error) from None
    _check_kind(st, shown, what, limit, error)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except OSError as exc:
        raise _unreadable(exc, shown, error) from None
    try:
        st = os.fstat(fd)  # the path may have been swapped for a FIFO after the stat above
        _check_kind(st, shown, what, limit, error)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f, st.st_size


def read_regular(
    path: str | os.PathLike,
    *,
    what: str,
    limit: int,
    error: type[CnnvizError] = CnnvizError,
    shown: str | None = None,
) -> bytes:
    """The whole of a regular file, read once (arguments as for ``open_regular``)."""
    shown = shown or f"'{Path(path).name}'"
    with open_regular(path, what=what, limit=limit, error=error, shown=shown) as (f, _size):
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise _unreadable(exc, shown, error) from None
    if len(data) > limit:  # it grew while being read
        raise error(f"{shown} is more than the {megabytes(limit)} cnnviz reads for a {what}.")
    return data


def _why(exc: OSError) -> str:
    return "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__).lower()


def check_writable(
    path: str | os.PathLike, *, what: str, needed: int = 0, error: type[CnnvizError] = CnnvizError
) -> Path:
    """Check, before any work, that ``path`` can be written: not a folder, its folder exists and
    takes new files (a file is really created and removed beside it: permission bits say nothing
    in places such as /proc), and at least ``needed`` bytes are free there. Returns the path.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"'{path}' is a folder; name a {what} to write inside it.")
    if path.exists() and not path.is_file():
        raise error(f"'{path}' is not a regular file (a device or pipe), so cnnviz will not write a {what} there.")
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise error(f"The folder '{folder}' for the {what} does not exist.")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise error(
            f"Cannot create files in the folder '{folder}' ({_why(exc)}), so the {what} could not be saved there."
        ) from None
    if len(path.name.encode()) > 255 - 20:  # room for the temporary name beside it
        raise error(f"The name of the {what} is too long for the file system; choose a shorter one.")
    if needed:
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise error(
                f"The disk of '{folder}' has {megabytes(free)} free, less than the {megabytes(needed)} "
                f"the {what} needs; free some space or choose another place."
            )
    return path


def write_atomic(path: str | os.PathLike, data: bytes, *, what: str, error: type[CnnvizError] = CnnvizError) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flush it, and rename it over ``path``:
    a failure (a full disk, a crash) leaves the old file as it was and no 0-byte file behind."""
    path = Path(path)
    try:
        check_writable(path, what=what, error=error)
    except CnnvizError as exc:
        why = str(exc)
        raise error(f"Could not write '{path.name}': {why[:1].lower() + why[1:]}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # an ordinary file's mode, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise error(f"Could not write the {what} '{path.name}' ({_why(exc)}); nothing was changed.") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
