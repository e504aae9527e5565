"""TensorBoard events, built from the tensorboard package's own protobufs and plugin metadata (no TensorFlow):

    scalar(tag, value, step)          a scalar, as the Scalars dashboard and EventAccumulator.Scalars read it
    text(tag, markdown, step)         a text summary (the Text dashboard), e.g. the config as YAML
    image(tag, png, step)             a PNG picture (the Images dashboard)
    hparams_start(values, seconds)    the run's hyperparameters (the HParams dashboard's session start)
    hparams_end(status, seconds)      how the run ended (session end: success, failure or unknown)

Every function returns an `Event`; the writer (tensorboard.py) puts them into an event file.
"""

from __future__ import annotations

import struct
import time

import numpy as np


def _protos():
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.compat.proto import event_pb2, summary_pb2

    return event_pb2, summary_pb2


def event(value, step: int, wall_time: float | None = None):
    """One Event holding one Summary.Value at `step`."""
    event_pb2, summary_pb2 = _protos()
    return event_pb2.Event(wall_time=time.time() if wall_time is None else wall_time, step=int(step),
                           summary=summary_pb2.Summary(value=[value]))


def scalar(tag: str, value: float, step: int):
    _, summary_pb2 = _protos()
    return event(summary_pb2.Summary.Value(tag=tag, simple_value=float(value)), step)


def text(tag: str, markdown: str, step: int = 0):
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.plugins.text import metadata
    from tensorboard.util import tensor_util

    _, summary_pb2 = _protos()
    value = summary_pb2.Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(tag, ""),
                                      tensor=tensor_util.make_tensor_proto(np.array([markdown], dtype=object)))
    return event(value, step)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header; ValueError when `data` is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def image(tag: str, png: bytes, step: int):
    _, summary_pb2 = _protos()
    width, height = png_size(png)
    picture = summary_pb2.Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
    return event(summary_pb2.Summary.Value(tag=tag, image=picture), step)


def _hparams(data):
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.plugins.hparams import metadata

    _, summary_pb2 = _protos()
    tag = metadata.SESSION_START_INFO_TAG if data.HasField("session_start_info") else metadata.SESSION_END_INFO_TAG
    return event(summary_pb2.Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                                           tensor=metadata.NULL_TENSOR), 0)


def hparams_start(values: dict[str, str | float | int | bool], seconds: float):
    """The session start of the HParams dashboard: each hyperparameter as a number, a boolean or text."""
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.plugins.hparams import plugin_data_pb2

    info = plugin_data_pb2.SessionStartInfo(start_time_secs=seconds)
    for key, value in values.items():
        if isinstance(value, bool):
            info.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[key].number_value = float(value)
        else:
            info.hparams[key].string_value = str(value)
    return _hparams(plugin_data_pb2.HParamsPluginData(session_start_info=info, version=0))


STATUS = {"completed": "STATUS_SUCCESS", "stopped early": "STATUS_SUCCESS", "pruned": "STATUS_SUCCESS",
          "interrupted": "STATUS_UNKNOWN", "abandoned": "STATUS_UNKNOWN"}


def hparams_end(status: str, seconds: float):
    """The session end: success (completed, stopped early, pruned), unknown (interrupted: it may be resumed)
    or failure (diverged, failed)."""
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    info = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(STATUS.get(status, "STATUS_FAILURE")),
                                          end_time_secs=seconds)
    return _hparams(plugin_data_pb2.HParamsPluginData(session_end_info=info, version=0))
