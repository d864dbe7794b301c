"""The `capacity` CLI: thin typer commands over typed functions."""

from training.cli.app import app

__all__ = ["app"]
