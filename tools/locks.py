"""The dependency locks: ``requirements.lock`` and ``requirements-serve.txt``, from pyproject.toml.

``python tools/locks.py write`` (``make lock``, needs the package index) resolves
``pyproject.toml`` (runtime + ``dev``) with uv into ``requirements.lock`` (every package,
pinned, with hashes; ``make setup`` installs from it) and then ``requirements-serve.in`` (the
service's packages, by name) into ``requirements-serve.txt`` with the lock as constraint.

``python tools/locks.py check`` (``make lint``, offline) fails when they drift: the lock
records a digest of pyproject.toml's dependency lists, every ``==`` pin of pyproject.toml
must be the lock's version, and every pin of ``requirements-serve.txt`` must be the lock's.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
SERVE_IN = ROOT / "requirements-serve.in"
SERVE_TXT = ROOT / "requirements-serve.txt"
TARGET = ("--python-version", "3.11", "--python-platform", "x86_64-unknown-linux-gnu")
DIGEST_PREFIX = "# pyproject-dependencies-sha256: "
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\#]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def dependency_digest(pyproject: Path | None = None) -> str:
    """sha256 of the project's dependency lists (what a lock must be regenerated for)."""
    pyproject = pyproject if pyproject is not None else PYPROJECT
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    doc = {
        "dependencies": project.get("dependencies", []),
        "optional": project.get("optional-dependencies", {}),
        "python": project.get("requires-python", ""),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def pins(path: Path) -> dict[str, str]:
    """``name == version`` lines of a requirements file, by normalised name."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def project_pins(pyproject: Path | None = None) -> dict[str, str]:
    """The ``==`` pins of pyproject.toml (runtime and every extra)."""
    pyproject = pyproject if pyproject is not None else PYPROJECT
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    found: dict[str, str] = {}
    for spec in specs:
        match = _PIN.match(spec.replace(" ", ""))
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def problems() -> list[str]:
    """Every way the locks disagree with pyproject.toml or with each other (empty: in sync)."""
    out: list[str] = []
    if not LOCK.is_file():
        return [f"{LOCK.name} is missing: run `make lock`"]
    text = LOCK.read_text(encoding="utf-8")
    recorded = next(
        (ln[len(DIGEST_PREFIX) :] for ln in text.splitlines() if ln.startswith(DIGEST_PREFIX)), None
    )
    if recorded != dependency_digest():
        out.append(
            f"{LOCK.name} was generated for other dependencies than pyproject.toml lists "
            f"(digest {recorded} != {dependency_digest()}): run `make lock`"
        )
    locked = pins(LOCK)
    for name, version in sorted(project_pins().items()):
        if locked.get(name) != version:
            out.append(f"pyproject.toml pins {name}=={version}; {LOCK.name} has {locked.get(name)}")
    serve = pins(SERVE_TXT) if SERVE_TXT.is_file() else {}
    if not serve:
        out.append(f"{SERVE_TXT.name} has no pins: run `make lock`")
    for name, version in sorted(serve.items()):
        if locked.get(name) != version:
            out.append(
                f"{SERVE_TXT.name} pins {name}=={version}; {LOCK.name} has {locked.get(name)}"
            )
    wanted = [
        _name(ln.strip())
        for ln in SERVE_IN.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    for name in wanted:
        if name not in serve:
            out.append(
                f"{SERVE_IN.name} lists {name}; {SERVE_TXT.name} does not pin it: run `make lock`"
            )
    return out


def write(uv: str) -> None:
    """Regenerate both files with uv (keeps versions already locked unless they must move)."""
    header = (
        "# Every package `make setup` installs, pinned with hashes. Generated from pyproject.toml\n"
        "# by `make lock` (tools/locks.py, uv pip compile); do not edit by hand.\n"
        f"{DIGEST_PREFIX}{dependency_digest()}\n"
    )
    subprocess.run(
        [uv, "pip", "compile", str(PYPROJECT), "--extra", "dev", *TARGET, "--generate-hashes",
         "--no-header", "--annotation-style", "line", "--quiet", "-o", str(LOCK)],
        check=True, cwd=ROOT,
    )  # fmt: skip
    LOCK.write_text(header + LOCK.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run(
        [uv, "pip", "compile", str(SERVE_IN), "--constraint", str(LOCK), *TARGET,
         "--no-header", "--annotation-style", "line", "--quiet", "-o", str(SERVE_TXT)],
        check=True, cwd=ROOT,
    )  # fmt: skip
    serve_header = (
        "# The BentoML service's packages (bentofile.yaml): requirements-serve.in resolved with\n"
        "# requirements.lock as constraint by `make lock`; do not edit by hand.\n"
    )
    SERVE_TXT.write_text(serve_header + SERVE_TXT.read_text(encoding="utf-8"), encoding="utf-8")


def main(argv: list[str]) -> int:
    """``write [UV]`` or ``check``."""
    if argv[:1] == ["write"]:
        write(argv[1] if len(argv) > 1 else "uv")
        return 0
    if argv[:1] == ["check"]:
        found = problems()
        for line in found:
            print(f"lock drift: {line}", file=sys.stderr)
        if not found:
            print(f"{LOCK.name} and {SERVE_TXT.name} match pyproject.toml")
        return 1 if found else 0
    print("usage: python tools/locks.py write [path/to/uv] | check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
