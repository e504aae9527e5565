"""train.eval_batch_size: auto (nnctl.nn.eval_batch) picks batches from the network's shapes alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnctl.config.load import load_config
from nnctl.config.sections import resolve
from nnctl.errors import ConfigError
from nnctl.nn.eval_batch import auto_eval_batch, eval_batch_bound, eval_batch_size, largest_array_per_sample
from nnctl.nn.network import build_network

ROOT = Path(__file__).resolve().parent.parent
FASHION = (1, 28, 28)
BENCH_CNN = [{"type": "conv2d", "filters": 32, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "maxpool2d", "kernel": 2},
             {"type": "conv2d", "filters": 64, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "maxpool2d", "kernel": 2},
             {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]
BENCH_MLP = [{"type": "dense", "units": 256}, {"type": "relu"}, {"type": "dense", "units": 256}, {"type": "relu"},
             {"type": "dense", "units": 10}]


def network(layers, in_shape, dtype=np.float32):
    config = resolve({"data": {"dataset": "spiral"}, "model": {"layers": layers},
                      "loss": {"type": "softmax_cross_entropy"}})
    return build_network(config.model, in_shape, np.random.default_rng(0), dtype)


def test_dense_networks_evaluate_in_the_largest_batches():
    net = network(BENCH_MLP, (784,))
    assert largest_array_per_sample(net) == 784                  # the input is the widest array
    assert auto_eval_batch(net) == 512                           # 32 MiB / 3,136 bytes = 10,700, capped


def test_the_benchmark_cnn_evaluates_in_batches_of_128():
    net = network(BENCH_CNN, FASHION)
    # the second convolution's im2col columns: 32 channels x 9 taps x 14 x 14 positions per sample
    assert largest_array_per_sample(net) == 32 * 9 * 14 * 14
    assert auto_eval_batch(net) == 128                           # 33,554,432 // 225,792 = 148


def test_fashion_cnn_evaluates_in_batches_of_64():
    config = load_config(ROOT / "configs" / "fashion_cnn.yaml")
    net = build_network(config.model, FASHION, np.random.default_rng(0))
    assert largest_array_per_sample(net) == 64 * 9 * 14 * 14    # the third convolution's columns
    assert auto_eval_batch(net) == 64                            # 33,554,432 // 451,584 = 74


def test_float64_networks_take_half_the_samples():
    assert auto_eval_batch(network(BENCH_CNN, FASHION, np.float64)) == 64


def test_a_sample_bigger_than_the_budget_is_evaluated_alone():
    net = network([{"type": "conv2d", "filters": 64, "kernel": 3, "padding": 1}], (1, 400, 400))
    assert largest_array_per_sample(net) * 4 > 32 << 20          # 64 x 160,000 floats: 41 MB
    assert auto_eval_batch(net) == 1


def test_a_number_is_used_as_given():
    net = network(BENCH_CNN, FASHION)
    assert eval_batch_size(1000, net) == 1000
    assert eval_batch_size("auto", net) == 128
    assert eval_batch_bound("auto") == 512 and eval_batch_bound(1000) == 1000


@pytest.mark.parametrize("value", ["auto", 7])
def test_the_config_takes_auto_or_a_positive_integer(value):
    config = resolve({"data": {"dataset": "spiral"}, "model": [{"type": "dense", "units": 3}],
                      "train": {"eval_batch_size": value}})
    assert config.train["eval_batch_size"] == value


def test_auto_is_the_default():
    config = resolve({"data": {"dataset": "spiral"}, "model": [{"type": "dense", "units": 3}]})
    assert config.train["eval_batch_size"] == "auto"


@pytest.mark.parametrize("value", ["big", 0, 2.5, True])
def test_anything_else_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError) as caught:
        resolve({"data": {"dataset": "spiral"}, "model": [{"type": "dense", "units": 3}],
                 "train": {"eval_batch_size": value}})
    assert "train.eval_batch_size" in str(caught.value)
    assert "a positive integer or 'auto'" in str(caught.value)


def test_a_run_evaluates_in_the_batches_auto_chose(tmp_path):
    """A wide convolution on 64x64 images: 4 MiB of output per sample, so auto takes 8 samples at a time."""
    from nnctl.build.prepare import prepare
    from nnctl.training.trainer import Trainer

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "images.npz", x=rng.standard_normal((60, 1, 64, 64)).astype(np.float32),
             y=rng.integers(0, 3, 60))
    config = resolve({"data": {"dataset": "npz", "path": str(tmp_path / "images.npz"), "flatten": False,
                               "val_size": 20, "test_size": 0},
                      "model": [{"type": "conv2d", "filters": 256, "kernel": 3, "padding": 1},
                                {"type": "global_avgpool"}, {"type": "dense", "units": 3}],
                      "train": {"batch_size": 4}})
    setup = prepare(config, progress=False)
    assert setup.eval_batch == 8                                 # 32 MiB // (256 x 64 x 64 x 4 bytes)
    trainer = Trainer(setup)
    seen, forward = [], setup.network.forward

    def counting(x, *args, **kwargs):
        seen.append(len(x))
        return forward(x, *args, **kwargs)

    setup.network.forward = counting
    result = trainer.evaluate_split("val")
    assert seen == [8, 8, 4] and result.samples == 20
