"""The MLflow registry: runs, versions, the gate, comparisons, the model card."""
