"""nnctl: train NumPy neural networks from YAML files."""

__version__ = "0.1.0"
