"""The C library, for the few Linux calls Python does not wrap (atomic folder exchange, death signal)."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import signal

_PR_SET_PDEATHSIG = 1


@functools.cache
def libc():
    """The process's C library, or None where there is none to load."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def die_with_parent() -> None:
    """Ask Linux to kill this (worker) process when its parent dies, so a killed compile leaves no worker
    writing into a staging folder behind it; elsewhere a no-op."""
    prctl = getattr(libc(), "prctl", None)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
