"""The distribution installs one top-level package, `arqium`, with every module of the
folders at the repository root under it."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("domain", "infra", "projections", "system", "api", "workers", "cli")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (pip builds in the tree it is given
    and would leave a build/ folder in the checkout)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)], check=True, capture_output=True)
    [built] = out.glob("arqium-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_only_top_level_name_is_arqium(wheel):
    top = {name.split("/")[0] for name in wheel.namelist()
           if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"arqium"}
    [listed] = [n for n in wheel.namelist() if n.endswith(".dist-info/top_level.txt")]
    assert wheel.read(listed).decode().split() == ["arqium"]


def test_every_module_of_every_folder_is_in_the_wheel(wheel):
    sources = {f"arqium/{path.relative_to(ROOT).as_posix()}"
               for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")}
    assert sources - set(wheel.namelist()) == set()


def test_the_tokenizer_data_is_in_the_wheel(wheel):
    assert "arqium/infra/data/minilm/tokenizer.json" in wheel.namelist()


def test_every_folder_with_modules_is_a_package():
    """find_packages installs only folders with an __init__.py; an editable install
    would hide a missing one."""
    folders = {path.parent for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert [f for f in folders if not (f / "__init__.py").exists()] == []
