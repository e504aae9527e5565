"""Optimizers: each update rule against arithmetic done by hand, decay, clipping, and exact resume.

Hand computations use p0 = [1, -2] and the gradients G1 = [0.5, -1], G2 = [0.25, 2], G3 = [0, 0].
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.errors import ConfigError, InputError
from nnctl.nn.registry import OPTIMIZERS
from nnctl.optim.optimizer import Optimizer
from nnctl.optim.optimizers import Adam, AdamW
from nnctl.options.spec import validate

P0 = [1.0, -2.0]
G1, G2, G3 = [0.5, -1.0], [0.25, 2.0], [0.0, 0.0]
DTYPES = [np.float64, np.float32]


def run(name: str, dtype, grads: list[list[float]], lr: float, **config) -> list[np.ndarray]:
    """Params after each step of optimizer `name` on p0 with the given gradient sequence."""
    param = np.array(P0, dtype=dtype)
    opt = OPTIMIZERS[name]({"p": param}, set(), lr=lr, **config)
    seen = []
    for g in grads:
        opt.step({"p": np.array(g, dtype=dtype)}, lr)
        assert opt.params["p"] is param and param.dtype == dtype
        seen.append(param.copy())
    for table in opt.state.values():
        assert table["p"].dtype == dtype
    return seen


def assert_steps(found: list[np.ndarray], expected: list[list[float]], dtype) -> None:
    for got, want in zip(found, expected, strict=True):
        if dtype == np.float64:
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------- update rules

@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd(dtype):
    # p -= 0.1 g
    expected = [[1 - 0.05, -2 + 0.1],          # [0.95, -1.9]
                [0.95 - 0.025, -1.9 - 0.2]]    # [0.925, -2.1]
    assert_steps(run("sgd", dtype, [G1, G2], lr=0.1), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum(dtype):
    # v = 0.9 v - 0.1 g;  p += v
    # step 1: v = [-0.05, 0.1]
    # step 2: v = [-0.045 - 0.025, 0.09 - 0.2] = [-0.07, -0.11]
    # step 3: v = [-0.063, -0.099]
    expected = [[0.95, -1.9], [0.88, -2.01], [0.817, -2.109]]
    assert_steps(run("momentum", dtype, [G1, G2, G3], lr=0.1, momentum=0.9), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nesterov_matches_the_v_prev_form(dtype):
    # v_prev = v; v = 0.9 v - 0.1 g; p += -0.9 v_prev + 1.9 v
    # step 1: v_prev = 0, v = [-0.05, 0.1]; p += 1.9 v = [-0.095, 0.19]
    # step 2: v_prev = [-0.05, 0.1], v = [-0.07, -0.11]; p += [0.045 - 0.133, -0.09 - 0.209]
    # step 3: v_prev = [-0.07, -0.11], v = [-0.063, -0.099]; p += [0.063 - 0.1197, 0.099 - 0.1881]
    expected = [[0.905, -1.81], [0.817, -2.109], [0.7603, -2.1981]]
    assert_steps(run("nesterov", dtype, [G1, G2, G3], lr=0.1, momentum=0.9), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsprop(dtype):
    # cache = 0.9 cache + 0.1 g^2;  p -= 0.01 g / (sqrt(cache) + 1e-8)
    # step 1: cache = [0.025, 0.1]
    # step 2: cache = [0.0225 + 0.00625, 0.09 + 0.4] = [0.02875, 0.49]
    p1 = [1 - 0.01 * 0.5 / (math.sqrt(0.025) + 1e-8), -2 + 0.01 * 1 / (math.sqrt(0.1) + 1e-8)]
    p2 = [p1[0] - 0.01 * 0.25 / (math.sqrt(0.02875) + 1e-8), p1[1] - 0.01 * 2 / (0.7 + 1e-8)]
    assert_steps(run("rmsprop", dtype, [G1, G2], lr=0.01, rho=0.9), [p1, p2], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adagrad(dtype):
    # cache += g^2;  p -= 0.1 g / (sqrt(cache) + 1e-8)
    # step 1: cache = [0.25, 1]
    # step 2: cache = [0.3125, 5]
    p1 = [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 1 / (1 + 1e-8)]
    p2 = [p1[0] - 0.1 * 0.25 / (math.sqrt(0.3125) + 1e-8), p1[1] - 0.1 * 2 / (math.sqrt(5) + 1e-8)]
    assert_steps(run("adagrad", dtype, [G1, G2], lr=0.1), [p1, p2], dtype)


def adam_by_hand(p0: list[float], decay_factor: float = 1.0) -> list[list[float]]:
    """Two Adam steps (beta1 0.9, beta2 0.999, eps 1e-8, lr 0.1) on G1, G2; `decay_factor` multiplies p
    before each update (adamw's decoupled decay)."""
    # step 1: m = 0.1 G1 = [0.05, -0.1], v = 0.001 G1^2 = [0.00025, 0.001]
    #         mt = m / 0.1 = G1, vt = v / 0.001 = G1^2
    p1 = [p0[0] * decay_factor - 0.1 * 0.5 / (0.5 + 1e-8),
          p0[1] * decay_factor + 0.1 * 1 / (1 + 1e-8)]
    # step 2: m = [0.045 + 0.025, -0.09 + 0.2] = [0.07, 0.11]
    #         v = [0.00024975 + 0.0000625, 0.000999 + 0.004] = [0.00031225, 0.004999]
    #         1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999
    p2 = [p1[0] * decay_factor - 0.1 * (0.07 / 0.19) / (math.sqrt(0.00031225 / 0.001999) + 1e-8),
          p1[1] * decay_factor - 0.1 * (0.11 / 0.19) / (math.sqrt(0.004999 / 0.001999) + 1e-8)]
    return [p1, p2]


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam(dtype):
    assert_steps(run("adam", dtype, [G1, G2], lr=0.1), adam_by_hand(P0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adamw_decays_weights_only_and_outside_the_moments(dtype):
    params = {"W": np.array(P0, dtype=dtype), "b": np.array(P0, dtype=dtype)}
    opt = AdamW(params, {"W"}, lr=0.1, weight_decay=0.5)
    found_w, found_b = [], []
    for g in (G1, G2):
        opt.step({"W": np.array(g, dtype=dtype), "b": np.array(g, dtype=dtype)}, 0.1)
        found_w.append(params["W"].copy())
        found_b.append(params["b"].copy())
    assert_steps(found_w, adam_by_hand(P0, decay_factor=1 - 0.1 * 0.5), dtype)
    assert_steps(found_b, adam_by_hand(P0), dtype)
    # The decay never enters the gradient moments.
    np.testing.assert_array_equal(opt.state["m"]["W"], opt.state["m"]["b"])
    np.testing.assert_array_equal(opt.state["v"]["W"], opt.state["v"]["b"])


def test_adamw_without_decay_is_adam():
    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3)]
    a, w = {"W": start.copy()}, {"W": start.copy()}
    adam, adamw = Adam(a, {"W"}), AdamW(w, {"W"})
    for g in grads:
        adam.step({"W": g}, 1e-2)
        adamw.step({"W": g}, 1e-2)
    np.testing.assert_array_equal(a["W"], w["W"])


def test_the_learning_rate_comes_from_step_not_config():
    param = np.array(P0)
    opt = OPTIMIZERS["sgd"]({"p": param}, set(), lr=5.0)
    opt.step({"p": np.array(G1)}, 0.1)
    np.testing.assert_allclose(param, [0.95, -1.9], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------- weight decay

@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_weight_decay_applies_to_decay_keys_only(dtype):
    params = {"W": np.array(P0, dtype=dtype), "b": np.array(P0, dtype=dtype)}
    opt = OPTIMIZERS["sgd"](params, {"W"}, weight_decay=0.1)
    g = {"W": np.array(G1, dtype=dtype), "b": np.array(G1, dtype=dtype)}
    opt.step(g, 0.1)
    # W: g + 0.1 p = [0.5 + 0.1, -1 - 0.2] = [0.6, -1.2];  W -= 0.1 [0.6, -1.2]
    assert_steps([params["W"]], [[0.94, -1.88]], dtype)
    assert_steps([params["b"]], [[0.95, -1.9]], dtype)
    np.testing.assert_array_equal(g["W"], np.array(G1, dtype=dtype))   # caller's gradient untouched


def test_l2_weight_decay_enters_adams_moments():
    params = {"W": np.array(P0), "b": np.array(P0)}
    opt = Adam(params, {"W"}, weight_decay=0.1)
    opt.step({"W": np.array(G1), "b": np.array(G1)}, 1e-3)
    np.testing.assert_allclose(opt.state["m"]["W"], [0.1 * 0.6, 0.1 * -1.2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.state["m"]["b"], [0.1 * 0.5, 0.1 * -1.0], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------- clipping

def test_clipping_scales_all_gradients_by_the_global_norm():
    params = {"W": np.array([1.0, 1.0]), "b": np.array([1.0])}
    grads = {"W": np.array([3.0, 0.0]), "b": np.array([4.0])}
    opt = OPTIMIZERS["sgd"](params, {"W"}, clip_norm=1.0)
    norm = opt.step(grads, 1.0)
    assert norm == 5.0                                   # sqrt(9 + 16), before clipping
    np.testing.assert_allclose(params["W"], [1 - 0.6, 1.0], rtol=0, atol=1e-15)   # g * 1/5
    np.testing.assert_allclose(params["b"], [1 - 0.8], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(grads["W"], [3.0, 0.0])
    np.testing.assert_array_equal(grads["b"], [4.0])


def test_clipping_leaves_small_gradients_alone():
    params = {"W": np.array([1.0, 1.0]), "b": np.array([1.0])}
    opt = OPTIMIZERS["sgd"](params, set(), clip_norm=10.0)
    assert opt.step({"W": np.array([3.0, 0.0]), "b": np.array([4.0])}, 0.5) == 5.0
    np.testing.assert_allclose(params["W"], [1 - 1.5, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(params["b"], [1 - 2.0], rtol=0, atol=1e-15)


def test_clipping_comes_before_l2_decay():
    params = {"W": np.array([1.0, 1.0]), "b": np.array([1.0])}
    opt = OPTIMIZERS["sgd"](params, {"W"}, clip_norm=2.5, weight_decay=0.5)
    norm = opt.step({"W": np.array([3.0, 0.0]), "b": np.array([4.0])}, 1.0)
    assert norm == 5.0
    # scale 0.5: W gets [1.5, 0] + 0.5 [1, 1] = [2, 0.5];  b gets [2]
    np.testing.assert_allclose(params["W"], [-1.0, 0.5], rtol=0, atol=1e-15)
    np.testing.assert_allclose(params["b"], [-1.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_clipping_equals_stepping_on_prescaled_gradients(name, weight_decay):
    # Each rule folds the clip factor into its own scalars; it must act as if g itself were scaled.
    rng = np.random.default_rng(7)
    start = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    clipped, plain = {k: v.copy() for k, v in start.items()}, {k: v.copy() for k, v in start.items()}
    opt_clipped = OPTIMIZERS[name](clipped, {"W"}, clip_norm=0.5, weight_decay=weight_decay)
    opt_plain = OPTIMIZERS[name](plain, {"W"}, weight_decay=weight_decay)
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape) for k, v in start.items()}
        norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
        assert norm > 0.5
        assert opt_clipped.step(grads, 0.1) == pytest.approx(norm, rel=1e-14)
        opt_plain.step({k: g * (0.5 / norm) for k, g in grads.items()}, 0.1)
    for key in start:
        np.testing.assert_allclose(clipped[key], plain[key], rtol=1e-12, atol=1e-14)


def test_float32_norm_that_overflows_is_recomputed_and_still_clips():
    params = {"W": np.zeros(2, np.float32)}
    opt = OPTIMIZERS["sgd"](params, set(), clip_norm=1.0)
    norm = opt.step({"W": np.array([3e20, 4e20], np.float32)}, 1.0)   # 9e40 overflows float32
    assert norm == pytest.approx(5e20, rel=1e-6)
    np.testing.assert_allclose(params["W"], [-0.6, -0.8], rtol=1e-6)


def test_infinite_gradients_return_an_infinite_norm_without_failing():
    opt = OPTIMIZERS["adam"]({"W": np.zeros(2)}, {"W"}, clip_norm=1.0, weight_decay=0.1)
    with np.errstate(invalid="ignore"):                  # inf / inf in the update is expected here
        assert opt.step({"W": np.array([np.inf, 1.0])}, 1e-3) == math.inf


def test_step_returns_the_norm_without_clipping_too():
    opt = OPTIMIZERS["adam"]({"W": np.zeros((2, 2), np.float32)}, set())
    assert opt.step({"W": np.full((2, 2), 0.5, np.float32)}, 1e-3) == 1.0


def test_mismatched_gradients_are_refused():
    opt = OPTIMIZERS["sgd"]({"W": np.zeros((2, 3))}, set())
    with pytest.raises(ValueError, match="missing"):
        opt.step({"V": np.zeros((2, 3))}, 0.1)
    with pytest.raises(ValueError, match="shape"):
        opt.step({"W": np.zeros(3)}, 0.1)                # would broadcast silently


# ---------------------------------------------------------------------------------------------- state

def random_problem(seed: int):
    rng = np.random.default_rng(seed)
    params = {"dense1.W": rng.standard_normal((4, 3)).astype(np.float32),
              "dense1.b": rng.standard_normal(3).astype(np.float32)}
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
             for _ in range(6)]
    return params, grads


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_saved_state_continues_bit_identically(name):
    config = {"weight_decay": 0.01, "clip_norm": 2.0}
    params, grads = random_problem(1)
    opt = OPTIMIZERS[name](params, {"dense1.W"}, **config)
    for g in grads[:3]:
        opt.step(g, 0.05)
    saved = opt.state_arrays()
    assert saved["t"] == 3 and saved["t"].dtype == np.int64
    assert set(saved) == {"t"} | {f"{slot}/{k}" for slot in opt.slots for k in params}

    resumed_params = {k: v.copy() for k, v in params.items()}
    resumed = OPTIMIZERS[name](resumed_params, {"dense1.W"}, **config)
    resumed.load_state_arrays(saved)
    for g in grads[3:]:
        opt.step(g, 0.05)
        resumed.step(g, 0.05)
    for key in params:
        np.testing.assert_array_equal(resumed_params[key], params[key])
    for slot in opt.slots:
        for key in params:
            np.testing.assert_array_equal(resumed.state[slot][key], opt.state[slot][key])


def test_state_arrays_are_copies():
    params, grads = random_problem(2)
    opt = Adam(params, set())
    opt.step(grads[0], 1e-3)
    saved = opt.state_arrays()
    before = saved["m/dense1.W"].copy()
    opt.step(grads[1], 1e-3)
    np.testing.assert_array_equal(saved["m/dense1.W"], before)


def bad_states():
    params, grads = random_problem(3)
    opt = Adam(params, set())
    opt.step(grads[0], 1e-3)
    good = opt.state_arrays()
    missing = {k: v for k, v in good.items() if k != "v/dense1.b"}
    extra = {**good, "m/dense2.W": np.zeros(2, np.float32)}
    wrong_shape = {**good, "m/dense1.W": np.zeros((3, 4), np.float32)}
    wrong_dtype = {**good, "v/dense1.W": good["v/dense1.W"].astype(np.float64)}
    bad_t = {**good, "t": np.array(-1)}
    return [(missing, "missing 'v/dense1.b'"), (extra, "unexpected 'm/dense2.W'"),
            (wrong_shape, r"'m/dense1.W': expected float32 array of shape \(4, 3\), got float32 array of "
                          r"shape \(3, 4\)"),
            (wrong_dtype, "'v/dense1.W': expected float32 .* got float64"),
            (bad_t, "'t': expected a non-negative integer step count")]


@pytest.mark.parametrize("state, message", bad_states())
def test_loading_a_state_that_does_not_fit_fails_and_changes_nothing(state, message):
    params, grads = random_problem(4)
    opt = Adam(params, set())
    opt.step(grads[0], 1e-3)
    before = opt.state_arrays()
    with pytest.raises(InputError, match=message) as info:
        opt.load_state_arrays(state)
    assert "\n" not in str(info.value)
    after = opt.state_arrays()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_sgd_state_is_only_the_step_count():
    params, grads = random_problem(5)
    opt = OPTIMIZERS["sgd"](params, set())
    opt.step(grads[0], 0.1)
    assert list(opt.state_arrays()) == ["t"]


# ---------------------------------------------------------------------------------------------- options

def test_defaults():
    cfg = Adam({"W": np.zeros(2)}, set()).config
    assert cfg == {"lr": 1e-3, "weight_decay": 0.0, "clip_norm": None, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert OPTIMIZERS["momentum"]({"W": np.zeros(2)}, set()).config["momentum"] == 0.9
    assert OPTIMIZERS["rmsprop"]({"W": np.zeros(2)}, set()).config["rho"] == 0.99
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"}
    assert all(issubclass(cls, Optimizer) for cls in OPTIMIZERS.values())


@pytest.mark.parametrize("given, message", [
    ({"lr": -1}, "optimizer.lr: expected a positive number, got -1"),
    ({"beta2": 1.0}, r"optimizer.beta2: expected a number in \[0, 1\), got 1.0"),
    ({"clip_norm": 0}, "optimizer.clip_norm: expected a positive number or null, got 0"),
    ({"weight_decay": -0.1}, "optimizer.weight_decay: expected a non-negative number, got -0.1"),
    ({"betas1": 0.9}, "optimizer.betas1: unknown key [(]did you mean 'beta1'[?][)]"),
])
def test_bad_options_name_the_key(given, message):
    with pytest.raises(ConfigError, match=message):
        validate(Adam.options, given, "optimizer")


def test_decay_keys_must_name_parameters():
    with pytest.raises(ValueError, match="dense9.W"):
        OPTIMIZERS["sgd"]({"dense1.W": np.zeros(2)}, {"dense9.W"})
