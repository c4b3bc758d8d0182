"""The compiled query kernel (index/_kernel.c); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "index._kernel",
            ["index/_kernel.c"],
            # numpy's floating-point operations one by one: no fused multiply-add
            extra_compile_args=["-O3", "-ffp-contract=off", "-std=c99"],
        )
    ]
)
