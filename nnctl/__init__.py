"""nnctl: train NumPy neural networks from YAML files."""

import os

# OpenBLAS keeps its threads spinning for about 0.1 s after every matrix product (2^28 cycles), holding
# the cores that nnctl's own threaded im2col/col2im/pooling passes need right after. A short spin (2^14
# cycles) frees them. NumPy reads this when it is first imported, so it only applies when nnctl is
# imported first (as by the `nnctl` command); a value the user set is kept.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "14")

__version__ = "0.1.0"
