"""What the generated reports share: formatting, figures, statistics."""
