"""nnctl: train NumPy neural networks from YAML files.

The packages form layers; a module imports only from its own layer or those below it (tests/test_layering.py
checks this, and tools/import_graph.py holds the order):

    cli                                   options in, one call, lines out
    commands                              eval, embed, plot, summary as functions
    check, deploy, sweep, repeats         gradcheck and overfit; predict and ONNX; sweeps; seed and fold groups
    training                              trainer, loop, callbacks, endings, resume
    loggers                               TensorBoard and MLflow: a run's numbers sent out
    runs                                  run folders, checkpoints as data, the one checkpoint -> network loader
    build                                 config -> data splits, network, objective
    viz, health                           drawing and measuring only
    config, analysis                      the resolved config; PCA, k-NN, node outputs
    nn                                    the registry of names, network, losses, objective
    layers, optim, data                   parts
    options                               option tables, YAML, overrides
    atomic, npzfile, threads, workers, cpus, limits, errors, console, kernels     the ground (kernels: compiled loops)
"""

import os

# OpenBLAS keeps its threads spinning for about 0.1 s after every matrix product (2^28 cycles), holding
# the cores that nnctl's own threaded im2col/col2im/pooling passes need right after. A short spin (2^14
# cycles) frees them. NumPy reads this when it is first imported, so it only applies when nnctl is
# imported first (as by the `nnctl` command); a value the user set is kept.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "14")

__version__ = "0.1.0"
