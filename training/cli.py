"""The ``capacity`` command line: thin typer wrappers around typed functions."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Connection-capacity recommendation: synthesise, train, evaluate, recommend, promote.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Connection-capacity recommendation tools."""


if __name__ == "__main__":  # pragma: no cover
    app()
