"""The distributed engine (capacity train/recommend --engine dask)."""
