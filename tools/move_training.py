"""One-off: group training/ into packages and rewrite every reference (issue 22, item 4).

Run from the repository root on a clean tree, after every branch that edits training/ is
merged (the moves would conflict with their edits)::

    .venv/bin/python tools/move_training.py
    .venv/bin/ruff check --fix features training serving tests benchmarks tools
    .venv/bin/ruff format features training serving tests benchmarks tools
    make lint && make test          # then delete this script in the same commit

What it does: ``git mv`` of the 29 modules below into six packages (``training/pilot``
exists); one regex pass over every tracked .py/.md/.toml/.ipynb/.yaml file rewriting the
dotted name ``training.<old>`` (also with the escaped dot of a regex; whole names only:
``training.monitor`` and ``training.monitor_log`` each get their own rule, an attribute path such as
``"training.registry.client"`` in a monkeypatch follows its module) and the path
``training/<old>.py``; the two paths in ``synth/tables.py`` that are relative to its
folder; the contract count in ``tests/unit/test_layers.py``; and a third import-linter
contract: the layers inside training, no arrow pointing up. Checked on a clone of branch
i22 (after its merge of main): ruff clean, mypy clean, 3 contracts kept, every test collected.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

MOVES = {  # training.<old> -> training.<new>
    "cli": "cli.app",
    "cli_dask": "cli.dask_engine",
    "cli_loop": "cli.loop",
    "cli_model": "cli.model",
    "cli_ops": "cli.ops",
    "cli_output": "cli.output",
    "cli_review": "cli.review",
    "synth": "synth.history",
    "synth_tables": "synth.tables",
    "synth_existing": "synth.existing",
    "worlds": "synth.worlds",
    "engine_dask": "dask_engine.engine",
    "train_dask": "dask_engine.train",
    "partitions": "dask_engine.partitions",
    "monitor": "monitor.report",
    "monitor_log": "monitor.log",
    "monitor_sim": "monitor.simulate",
    # The profile is logged with every registered run (registry) and read by the monitor.
    "monitor_profile": "registry.monitor_profile",
    "pilot_sim": "pilot.simulate",
    "outcomes_import": "pilot.outcomes_import",
    "outcomes_export": "pilot.outcomes_export",
    "log_frame": "pilot.log_frame",
    "registry": "registry.store",
    "gate": "registry.gate",
    "compare": "registry.compare",
    "model_card": "registry.model_card",
    "report_format": "reports.format",
    "report_figures": "reports.figures",
    "stats": "reports.stats",
}
PACKAGES = ("cli", "synth", "dask_engine", "monitor", "registry", "reports")
INITS = {
    "cli": '"""The `capacity` CLI: thin typer commands over typed functions."""\n\n'
    'from training.cli.app import app\n\n__all__ = ["app"]\n',
    "synth": '"""Synthetic histories and independent worlds (demo data and test fixtures)."""\n',
    "dask_engine": '"""The distributed engine (capacity train/recommend --engine dask)."""\n',
    "monitor": '"""Monitoring the recommendation log against the champion."""\n',
    "registry": '"""The MLflow registry: runs, versions, the gate, comparisons, the model card."""\n',
    "reports": '"""What the generated reports share: formatting, figures, statistics."""\n',
}
CONTRACT = """
# Inside training: commands, then workflows, training, monitoring, the pilot, the registry,
# fitting and evaluation, and the leaves; no arrow points up.
[[tool.importlinter.contracts]]
name = "training: cli > workflows > train > publish > monitor > pilot > registry > fitting > leaves"
type = "layers"
containers = ["training"]
layers = [
    "cli",
    "retrain | bootstrap | notebook_inputs | review | dask_engine",
    "train",
    "publish",
    "monitor",
    "pilot",
    "registry",
    "evaluate | model | bundle | mlflow_model",
    "data | bounds | completeness | peers",
    "synth | reports",
]
"""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    """Move, rewrite, write the packages' __init__ files and the contract."""
    for pkg in PACKAGES:
        Path("training", pkg).mkdir(exist_ok=True)
    for old, new in MOVES.items():
        dst = Path("training", *new.split(".")).with_suffix(".py")
        _git("mv", f"training/{old}.py", str(dst))
    names = "|".join(sorted(MOVES, key=len, reverse=True))
    # The separator may be an escaped dot (a regex in synth_tables.py): kept as found.
    dotted = re.compile(rf"\btraining(\\?\.)({names})\b(?!\w)")
    path = re.compile(rf"\btraining/({names})\.py\b")
    # `from training import synth_existing as existing` -> `from training.synth import
    # existing as existing` (the old name kept as the alias when there was none).
    from_import = re.compile(rf"^(\s*)from training import ({names})\b(?: as (\w+))?$", re.M)

    def _from(m: re.Match[str]) -> str:
        parent, _, leaf = MOVES[m.group(2)].rpartition(".")
        return f"{m.group(1)}from training.{parent} import {leaf} as {m.group(3) or m.group(2)}"

    tracked = _git("ls-files", "*.py", "*.md", "*.toml", "*.ipynb", "*.yaml", "*.yml", "Makefile")
    for name in tracked.split():
        file = Path(name)
        if name == "tools/move_training.py" or not file.is_file():
            continue
        text = file.read_text(encoding="utf-8")
        new_text = dotted.sub(
            lambda m: "training" + m.group(1) + MOVES[m.group(2)].replace(".", m.group(1)),
            text,
        )
        # After the dotted pass, which would take the new `training.synth` for the old one.
        new_text = from_import.sub(_from, new_text)
        new_text = path.sub(
            lambda m: "training/" + MOVES[m.group(1)].replace(".", "/") + ".py", new_text
        )
        if new_text != text:
            file.write_text(new_text, encoding="utf-8")
    # Written after the rewrite: their text already names the new modules.
    for pkg, text in INITS.items():
        Path("training", pkg, "__init__.py").write_text(text, encoding="utf-8")
        _git("add", f"training/{pkg}/__init__.py")
    tables = Path("training/synth/tables.py")  # one folder deeper than before
    tables.write_text(
        tables.read_text(encoding="utf-8")
        .replace(
            'DATA_DIR = Path(__file__).resolve().parent / "data"',
            'DATA_DIR = Path(__file__).resolve().parents[1] / "data"',
        )
        .replace(
            'DOC_PATH = Path(__file__).resolve().parents[1] / "docs"',
            'DOC_PATH = Path(__file__).resolve().parents[2] / "docs"',
        ),
        encoding="utf-8",
    )
    layers = Path("tests/unit/test_layers.py")
    layers.write_text(
        layers.read_text(encoding="utf-8").replace('"2 kept, 0 broken"', '"3 kept, 0 broken"'),
        encoding="utf-8",
    )
    pyproject = Path("pyproject.toml")
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace(
            "[tool.pytest.ini_options]", CONTRACT.lstrip() + "\n[tool.pytest.ini_options]", 1
        ),
        encoding="utf-8",
    )
    print(f"moved {len(MOVES)} modules into {len(PACKAGES)} new packages; now ruff, lint, test")


if __name__ == "__main__":
    main()
