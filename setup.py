"""Installs the folders at the repository root as one package, `arqium` (`domain/` as
`arqium.domain`, ...): nothing of ours under a generic top-level name. Every other
setting is in pyproject.toml."""

from setuptools import find_packages, setup

ROOTS = ("domain", "infra", "projections", "system", "api", "workers", "cli")

setup(
    package_dir={f"arqium.{root}": root for root in ROOTS},
    packages=[f"arqium.{root}{sub}" for root in ROOTS
              for sub in ["", *(f".{package}" for package in find_packages(root))]],
)
