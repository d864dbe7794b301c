"""The model as served: predictor, calibration, tier policy, bounds, bundle reading, decisions.

Everything the service needs to answer lives here; :mod:`training` fits these objects and
writes bundles, and may import this package, never the reverse.
"""

from serving.model.lean import import_lightgbm_lean

# Before any module of this package imports lightgbm: in an API worker, without its
# scikit-learn integration (~70 MiB per worker; serving/model/lean.py).
import_lightgbm_lean()
