"""A folder that refuses writes, as a read-only mount does, even to root (the tests run
as root in CI, where chmod does not stop a write)."""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
from pathlib import Path

import pytest


def make_read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Every write, create, rename or removal under ``folder`` fails with EROFS."""
    top = os.path.realpath(folder)

    def inside(path: object) -> bool:
        try:
            real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except TypeError:
            return False
        return real == top or real.startswith(top + os.sep)

    def refuse(path: object) -> OSError:
        return OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))  # type: ignore[arg-type]

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, bytes, os.PathLike)) and inside(file) and any(
            c in mode for c in "wax+"
        ):
            raise refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        if inside(path) and flags & writing:
            raise refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def guard(real):  # type: ignore[no-untyped-def]
        def guarded(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if inside(path) or any(inside(a) for a in args if isinstance(a, (str, os.PathLike))):
                raise refuse(path)
            return real(path, *args, **kwargs)

        return guarded

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkdir", "rename", "replace", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    monkeypatch.setattr(shutil, "rmtree", guard(shutil.rmtree))
