"""Synthetic history, training, evaluation, uncertainty, MLflow registry and the CLI."""
