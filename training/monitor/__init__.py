"""Monitoring the recommendation log against the champion."""
