"""The examples the READMEs show run as written against a real server (its address and
an admin's credentials put in place of the example's, since they verify the ledger)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN

REPOSITORY = Path(__file__).resolve().parents[3]
EXAMPLE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def example_in(readme: Path, after: str) -> str:
    """The first Python block of `readme` after the heading `after`."""
    text = readme.read_text()
    return EXAMPLE.search(text, text.index(after)).group(1)


def run(example: str, url: str, folder: Path) -> str:
    """What the example prints, run by a Python of its own against `url` as the admin."""
    script = folder / "example.py"
    script.write_text(example.replace("http://127.0.0.1:8000", url)
                      .replace('"ada@example.com"', repr(ADMIN[0]))
                      .replace('"correct horse"', repr(ADMIN[1])))
    source = str(REPOSITORY / "clients/python/src")
    ran = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": source})
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


@pytest.mark.parametrize("readme, after, verdict", [
    (REPOSITORY / "README.md", "## Python client", "ledger intact"),
    (REPOSITORY / "clients/python/README.md", "# arqium-python", "True"),
])
def test_the_readme_example_stores_finds_and_verifies_the_ledger(live_api, tmp_path, readme,
                                                                  after, verdict):
    printed = run(example_in(readme, after), live_api.url, tmp_path)
    assert "trip" in printed
    assert verdict in printed.splitlines()
