"""Loggers: a run's numbers also sent to TensorBoard event files or an MLflow tracking server.

    base.py          the Logger interface, the figures sent (flattened config, report figures), loggers.json
    tb_records.py    TensorBoard events built from the tensorboard package's own protobufs
    tensorboard.py   the TensorBoard logger: event files, appended to without duplicate steps on resume
    mlflow_setup.py  the MLflow client: bounded HTTP retries, quiet log output, default URI, experiments
    mlflow_run.py    the MLflow logger: one run per run folder, a sweep's trials as children of one parent
    sweep.py         the parent MLflow run of a sweep

The loggers know nothing of the trainer: nnctl.training.logged feeds them, and turns any failure of one into
one warning line (the run goes on without that logger). Both packages are optional extras.
"""
