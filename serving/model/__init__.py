"""The model as served: predictor, calibration, tier policy, bounds, bundle reading, decisions.

Everything the service needs to answer lives here; :mod:`training` fits these objects and
writes bundles, and may import this package, never the reverse.
"""
