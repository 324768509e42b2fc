"""Maps the top-level folders to import names that shadow no PyPI package.

`mock` and `contracts` are taken on PyPI, so the folders install as `nexsis_mock` and
`nexsis_contracts` (and `openapi/` as `nexsis_openapi`). Subpackages are found automatically,
so adding one needs no edit here; metadata lives in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {"nexsis_openapi": "openapi", "nexsis_mock": "mock", "nexsis_contracts": "contracts"}

setup(
    package_dir=FOLDERS,
    packages=[f"{name}.{sub}" if sub else name for name, folder in FOLDERS.items()
              for sub in ["", *find_packages(folder)]],
)
