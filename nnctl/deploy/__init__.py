"""Using a trained network outside training: `nnctl predict` and `nnctl export`.

    saved_model.py   a checkpoint -> the network, its input shape and normalization, class names, task
    inputs.py        INPUTS (.npz, .csv, IDX, PNG/JPEG or a folder of them) -> batches of raw samples
    predict.py       batches through the network in evaluation mode -> a CSV of predictions
    onnx_graph.py    the network's nodes as ONNX operators;  onnx_export.py  the .onnx file

Nothing here loads a run's training data or follows a path stored in a checkpoint: a checkpoint is data.
"""
