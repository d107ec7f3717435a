"""The compiled inner loops of /detect (`_kernels.c`), or None where they were not built.

The C extension is optional at install (setup.py): without a compiler the runtime still works on the
numpy code paths, which give the same scores and bytes several times slower; `/readyz` and the startup
log say which runs. Tests switch between the two by setting `compiled`.
"""
from __future__ import annotations

try:
    from runtime.aiops import _kernels as compiled
except ImportError:  # built without a C compiler
    compiled = None
