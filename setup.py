# Only what cffi needs: the C shim cext._native, built from cext/build.py.
# Everything else is in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["cext/build.py:ffibuilder"])
