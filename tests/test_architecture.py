"""Imports point inward: the program's start on top, the domain at the bottom; faces
share code only through the common layer under api/."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a package may import its own modules and those of any lower layer.
LAYERS = (("cli",), ("api", "workers"), ("system",), ("projections",), ("infra",),
          ("domain",))
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}
# The API's faces, one package each under api/; app.py mounts them all.
FACES = ("v1", "graphql", "cerebro", "memory_v0", "admin", "astralbody")


def imported_modules(source: str) -> list[str]:
    """Every absolute module name a module's source imports (at any depth)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def wrong_way_imports(package: str, source: str) -> list[str]:
    """The imports of a module of `package` that point upward, sideways, or at one of our
    packages by its bare name (installed, only `arqium.<package>` exists)."""
    wrong = []
    for name in imported_modules(source):
        parts = name.split(".")
        if parts[0] in RANK:
            wrong.append(f"{name} (import it as arqium.{name})")
        elif parts[0] == "arqium" and len(parts) > 1 and parts[1] != package:
            target = parts[1]
            if target not in RANK or RANK[target] <= RANK[package]:
                wrong.append(name)
    return wrong


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(RANK))
def test_no_module_imports_upward_or_sideways(package):
    offences = {str(path.relative_to(ROOT)): wrong
                for path in modules_of(package)
                if (wrong := wrong_way_imports(package, path.read_text()))}
    assert offences == {}


def test_an_api_import_inside_infra_is_caught():
    assert wrong_way_imports("infra", "from arqium.api.common.deps import Caller\n") == [
        "arqium.api.common.deps"]


def test_a_worker_import_inside_the_api_is_caught():
    assert wrong_way_imports("api", "def f():\n    import arqium.workers.relay\n") == [
        "arqium.workers.relay"]


def test_an_import_by_a_bare_package_name_is_caught():
    assert wrong_way_imports("api", "from domain.shared import Cause\n") == [
        "domain.shared (import it as arqium.domain.shared)"]


def test_domain_imports_nothing_of_ours_but_itself():
    for path in modules_of("domain"):
        ours = [n for n in imported_modules(path.read_text()) if n.startswith("arqium.")]
        assert all(n == "arqium.domain" or n.startswith("arqium.domain.") for n in ours), path


def face_of(module: str) -> str | None:
    """The face package a module name belongs to (None: not a face's)."""
    parts = module.split(".")
    if parts[:2] == ["arqium", "api"] and len(parts) > 2 and parts[2] in FACES:
        return parts[2]
    return None


def other_faces_imported(face: str | None, source: str) -> list[str]:
    """What a module of `face` (None: of the common layer) imports from another face,
    `from arqium.api import <face>` included."""
    names = imported_modules(source)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "arqium.api":
            names += [f"arqium.api.{alias.name}" for alias in node.names]
    return [name for name in names if face_of(name) not in (None, face)]


def test_no_face_imports_another_face_and_the_common_layer_imports_none():
    offences = {}
    for path in modules_of("api"):
        relative = path.relative_to(ROOT / "api")
        if relative == Path("app.py"):
            continue  # the app mounts every face
        face = relative.parts[0] if relative.parts[0] in FACES else None
        if wrong := other_faces_imported(face, path.read_text()):
            offences[str(relative)] = wrong
    assert offences == {}


def test_a_face_importing_another_face_is_caught():
    source = "from arqium.api.v1.chat_sessions import check_session\n"
    assert other_faces_imported("cerebro", source) == ["arqium.api.v1.chat_sessions"]


def test_the_common_layer_importing_a_face_package_is_caught():
    assert other_faces_imported(None, "from arqium.api import cerebro\n") == [
        "arqium.api.cerebro"]


def test_a_face_may_import_its_own_modules_and_the_common_layer():
    source = ("from arqium.api.memory_v0.access import UserDep\n"
              "from arqium.api.common.deps import CurrentCaller\n")
    assert other_faces_imported("memory_v0", source) == []


def read_models_by_name(source: str) -> list[int]:
    """Lines that reach read models by name (`system.views[...]`) instead of through a
    typed dependency or attribute."""
    return sorted({node.lineno for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Attribute) and node.attr == "views"})


def test_the_api_never_looks_a_read_model_up_by_name():
    offences = {str(path.relative_to(ROOT)): lines for path in modules_of("api")
                if (lines := read_models_by_name(path.read_text()))
                or "views[" in path.read_text()}
    assert offences == {}


def test_a_read_model_looked_up_by_name_is_caught():
    assert read_models_by_name('view = system.views["memory_items"]\n') == [1]
