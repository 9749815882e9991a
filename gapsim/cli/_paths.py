"""Output paths checked before any work starts (issue 16).

A bad ``--out`` fails in milliseconds, not after the simulation.
A folder must be creatable and writable (it is created now, and a probe file is written and
removed); a file must not be a folder and its folder must pass the same test. Each failure is a
:class:`gapsim.errors.ConfigError` naming the flag: one line, exit status 2.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gapsim.errors import ConfigError

__all__ = ["check_output_dir", "check_output_file"]


def check_output_dir(path: str | os.PathLike, flag: str) -> Path:
    """Make sure ``path`` is (or becomes) a writable folder.

    Raises:
        ConfigError: ``path`` or one of its parents is a file, or the folder cannot be created
            or written (read-only, no permission, a pseudo file system like /proc).
    """
    p = Path(path)
    for q in (p, *p.parents):
        if q.exists() and not q.is_dir():
            what = "is a file" if q == p else f"lies under the file {q}"
            raise ConfigError(flag, str(path), f"{what}; give a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".gapsim-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(flag, str(path), f"is not a writable folder ({e.strerror})") from e
    return p


def check_output_file(path: str | os.PathLike, flag: str) -> Path:
    """Make sure the file ``path`` can be written: not a folder, in a writable folder.

    Raises:
        ConfigError: as :func:`check_output_dir`, or ``path`` is a folder.
    """
    p = Path(path)
    if p.is_dir():
        raise ConfigError(flag, str(path), "is a folder; give a file path")
    for q in p.parents:
        if q.exists() and not q.is_dir():
            raise ConfigError(flag, str(path), f"lies under the file {q}; give a folder")
    check_output_dir(p.parent, flag)
    if p.exists() and not os.access(p, os.W_OK):
        raise ConfigError(flag, str(path), "exists and is not writable")
    return p
