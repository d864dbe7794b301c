"""Data contract, equipment catalog, validation, feature building and the engineering method."""
