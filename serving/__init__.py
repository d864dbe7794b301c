"""Recommender core, BentoML service and web page."""
