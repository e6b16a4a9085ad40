import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gutbrain.docs import generate

ROOT = Path(__file__).resolve().parents[1]


def test_module_pages_show_equations_and_parameters(tmp_path):
    pages = generate(tmp_path)
    assert len(pages) == 10  # nine modules (scores.py: questionnaire recall windows) and the index
    text = (tmp_path / "immune.md").read_text()
    assert "\\frac{d\\,\\mathrm{TNF}}{dt}" in text and "| `kTNFM` |" in text and "Windoloski" in text


def test_docs_build_without_warnings(tmp_path):
    if shutil.which("mkdocs") is None and subprocess.run([sys.executable, "-m", "mkdocs", "--version"]).returncode != 0:
        pytest.skip("mkdocs not installed (pip install -e '.[docs]')")
    generate(ROOT / "docs" / "modules")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stderr
    assert (tmp_path / "site" / "modules" / "hpa" / "index.html").exists()
