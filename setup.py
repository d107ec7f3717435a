"""The compiled /detect kernels (runtime/aiops/_kernels.c); everything else is declared in pyproject.toml.

Optional: without a C compiler the install still succeeds and the runtime uses its numpy code instead
(slower; `/readyz` and the startup log say so).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("runtime.aiops._kernels", sources=["runtime/aiops/_kernels.c"], optional=True)])
