"""The install is reproducible: README, .ci/run and constraints.txt agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [b.strip() for b in blocks]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_ci_runs_exactly_the_readme_test_command():
    ci_last = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")][-1]
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert ci_last.strip() == commands[1]
    for c in commands:
        assert c.startswith("pip install -c constraints.txt "), c


def test_every_dependency_is_pinned_inside_its_declared_range():
    packaging = pytest.importorskip("packaging.requirements")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra, items in meta["optional-dependencies"].items():
        if extra != "gpu":  # CUDA wheels are installed only on GPU machines
            reqs += items
    pins = _pins()
    missing, outside = [], []
    for r in map(packaging.Requirement, reqs):
        name = re.sub(r"[-_.]+", "-", r.name).lower()
        if name not in pins:
            missing.append(r.name)
        elif not r.specifier.contains(pins[name], prereleases=True):
            outside.append(f"{r.name}=={pins[name]} vs {r.specifier}")
    assert not missing, f"not pinned in constraints.txt: {missing}"
    assert not outside, f"pins outside pyproject's ranges: {outside}"


@pytest.mark.slow
def test_a_first_run_says_what_it_compiles_and_a_second_is_silent(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "GUTBRAIN_CACHE": str(tmp_path)}
    env.pop("GUTBRAIN_QUIET", None)
    code = "import gutbrain as gb; gb.simulate(gb.load_model(), 'healthy-baseline', days=1)"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr
    assert "compiling the model" in first.stderr and "compiled in" in first.stderr
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0 and "compiling" not in second.stderr


def test_the_version_has_one_source():
    """pyproject.toml reads the version from gutbrain/_version.py; the installed metadata agrees with it."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    import gutbrain

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("gutbrain") == gutbrain.__version__
