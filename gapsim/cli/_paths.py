"""Output paths checked before any work starts (issues 16, 24): nothing replaced silently.

A bad output path fails in milliseconds, not after the simulation, and no command replaces a
file it did not create in this run unless ``--overwrite`` was given (as ``gapsim sweep``
always did for a different sweep). :func:`check_output_file` is the one check of a file a
command will write: the path is not empty and not a folder, ends in an accepted suffix, lies
in a folder that can be created and written (it is created now, and a probe file is written
and removed), and does not exist yet (or ``overwrite``). :func:`check_output_dir` checks a
folder the command writes new entries into (a results store). Each failure is a
:class:`gapsim.errors.ConfigError` naming the flag: one line, exit status 2.

Example:
    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> check_output_file(os.path.join(root, "a.png"), "figure", suffixes=(".png",)).name
    'a.png'
    >>> check_output_file(root, "figure")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    gapsim.errors.ConfigError: figure='/tmp/...': is a folder; give a file path
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gapsim.errors import ConfigError

__all__ = ["check_output_dir", "check_output_file", "check_output_files"]


def _not_empty(path: str | os.PathLike, flag: str) -> None:
    if not str(path).strip():
        raise ConfigError(flag, repr(str(path)), "must not be empty")


def check_output_dir(path: str | os.PathLike, flag: str) -> Path:
    """Make sure ``path`` is (or becomes) a writable folder.

    Raises:
        ConfigError: ``path`` is empty, it or one of its parents is a file, or the folder
            cannot be created or written (read-only, no permission, a pseudo file system
            like /proc).
    """
    _not_empty(path, flag)
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


def check_output_file(
    path: str | os.PathLike,
    flag: str,
    *,
    overwrite: bool = False,
    suffixes: Sequence[str] = (),
) -> Path:
    """Make sure the file ``path`` can be written and replaces nothing unless ``overwrite``.

    Args:
        path: the file the command will write.
        flag: the flag that named it (for the message).
        overwrite: the user asked to replace an existing file (``--overwrite``).
        suffixes: accepted suffixes (lower case, e.g. ``(".png",)``); empty: any.

    Raises:
        ConfigError: ``path`` is empty, names a folder (or ends in a separator), has another
            suffix, lies under a file or in a folder that cannot be written, exists and
            ``overwrite`` is false, or exists and is not writable.
    """
    _not_empty(path, flag)
    text = str(path)
    p = Path(path)
    if p.is_dir() or text.endswith(("/", os.sep)) or p.name in ("", ".", ".."):
        raise ConfigError(flag, text, "is a folder; give a file path")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(flag, text, f"must end in {' or '.join(suffixes)}")
    for q in p.parents:
        if q.exists() and not q.is_dir():
            raise ConfigError(flag, text, f"lies under the file {q}; give a folder")
    check_output_dir(p.parent, flag)
    if p.exists() and not overwrite:
        raise ConfigError(flag, text, "exists; pass --overwrite to replace it")
    if p.exists() and not os.access(p, os.W_OK):
        raise ConfigError(flag, text, "exists and is not writable")
    return p


def check_output_files(
    paths: Sequence[str | os.PathLike], flag: str, *, overwrite: bool = False
) -> list[Path]:
    """:func:`check_output_file` for every file one flag makes the command write.

    The first existing one is named in the error (e.g. ``report.json`` beside ``report.md``).
    """
    return [check_output_file(p, flag, overwrite=overwrite) for p in paths]
