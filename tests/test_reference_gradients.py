"""The grader's reference back-propagation against two independent gradient oracles.

The master notebook's ``back_propagation`` is the reference the hidden checks compare with, so its
gradients must be right. They are checked against

a) central finite differences of ``compute_cost(forward_propagation(X, params, act)[0], Y)`` with
   respect to every entry of every W and b, and
b) TensorFlow autodiff (``tf.GradientTape``) of the same square loss ``sum((A - Y)**2) / (2m)``,
   written with TensorFlow ops from the same numpy parameters,

on random networks of depth 1 to 4, several widths, ReLU and Sigmoid, non-zero biases and several
seeds. A last group of tests shows that the comparison does fail on known-wrong gradients.
All randomness comes from ``np.random.RandomState(seed)``; the global generator is never used.
"""
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before TensorFlow is imported: keep its start-up logs quiet

import numpy as np
import pytest
import tensorflow as tf  # a pinned requirement of the kit: a missing TensorFlow is an error, not a skip

from pathlib import Path

from isograde.assignment import Assignment

# The reference is the master notebook's solution and given cells, executed as the grader executes them.
ref = Assignment(Path(__file__).resolve().parents[1], "hw3", "hw3").reference()

FD_STEP = 1e-6
# Observed worst absolute errors over all cases: ~6e-10 for finite differences, ~1e-15 for TensorFlow.
# The absolute tolerances are kept well below the smallest gradients compared (deep Sigmoid networks
# have entries of order 5e-5, see assert_not_trivial), so that atol never swallows a real error.
FD_RTOL, FD_ATOL = 1e-4, 1e-7
TF_RTOL, TF_ATOL = 1e-5, 1e-9
NONTRIVIAL = 1e-5  # every compared gradient array must have an entry at least this large
KINK_MARGIN = 1e-4  # ReLU pre-activations closer than this to 0 make finite differences meaningless
MAX_REDRAWS = 200
MIN_ACTIVE = 0.3  # fraction of active ReLU units x samples required in every layer

# (layer_dims, number of samples): depths 1, 2, 3 and 4 with different widths.
ARCHITECTURES = [
    ([4, 3], 5),
    ([7, 1], 6),
    ([5, 8, 2], 7),
    ([3, 6, 4, 2], 6),
    ([6, 5, 4, 3, 2], 8),
    ([2, 9, 1, 7, 3], 5),  # a width-1 bottleneck in the middle
]
ACTIVATIONS = {"relu": ref.ReLU, "sigmoid": ref.Sigmoid}
SEEDS = [0, 1, 2]

CASES = [
    pytest.param(dims, m, act, seed, id=f"depth{len(dims) - 1}-{'x'.join(map(str, dims))}-{act}-seed{seed}")
    for dims, m in ARCHITECTURES
    for act in ACTIVATIONS
    for seed in SEEDS
]


# ----------------------------------------------------------------------------------------------
# Problem construction
# ----------------------------------------------------------------------------------------------
def _draw(rng, layer_dims, m):
    """Parameters scaled like ``initialize_dnn_parameters`` but with non-zero biases, plus X and Y."""
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = np.sqrt(1 / layer_dims[l - 1]) * rng.randn(layer_dims[l], layer_dims[l - 1])
        params[f"b{l}"] = 0.5 * rng.randn(layer_dims[l], 1)
    X = rng.randn(layer_dims[0], m)
    Y = rng.rand(layer_dims[-1], m)
    return X, Y, params


def _preactivations(X, params, act):
    _, caches = ref.forward_propagation(X, params, act)
    return [caches[f"Z{l}"] for l in range(1, len(params) // 2 + 1)]


def _min_abs_preactivation(X, params, act):
    return min(np.min(np.abs(Z)) for Z in _preactivations(X, params, act))


def _relu_problem_is_usable(X, params, act):
    """Off the kink, and alive: at least MIN_ACTIVE of every layer's units x samples are active, so
    that the gradients being compared are not (mostly) zero."""
    Zs = _preactivations(X, params, act)
    return min(np.min(np.abs(Z)) for Z in Zs) > KINK_MARGIN and all(np.mean(Z > 0) >= MIN_ACTIVE for Z in Zs)


def make_problem(layer_dims, m, act_name, seed):
    """A deterministic random problem. For ReLU, draws are repeated (from the same RandomState, so
    still deterministic) until no pre-activation lies within KINK_MARGIN of the kink at 0 and no
    layer is (nearly) dead."""
    rng = np.random.RandomState(seed)
    act = ACTIVATIONS[act_name]()
    for _ in range(MAX_REDRAWS):
        X, Y, params = _draw(rng, layer_dims, m)
        if act_name != "relu" or _relu_problem_is_usable(X, params, act):
            break
    else:
        pytest.fail(f"no kink-free ReLU problem in {MAX_REDRAWS} draws for {layer_dims}, seed {seed}")
    if act_name == "relu":
        assert _min_abs_preactivation(X, params, act) > KINK_MARGIN
    assert all(np.all(params[f"b{l}"] != 0) for l in range(1, len(layer_dims)))
    return X, Y, params, act


def reference_grads(X, Y, params, act):
    _, caches = ref.forward_propagation(X, params, act)
    return ref.back_propagation(Y, params, caches, act.derivative)


# ----------------------------------------------------------------------------------------------
# Oracles
# ----------------------------------------------------------------------------------------------
def finite_difference_grads(X, Y, params, act, h=FD_STEP):
    """Central differences of the reference cost, entry by entry, for every W and b."""
    def cost(p):
        return ref.compute_cost(ref.forward_propagation(X, p, act)[0], Y)

    grads = {}
    for key, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[key][index] = value[index] + h
            plus = cost(shifted)
            shifted[key][index] = value[index] - h
            minus = cost(shifted)
            grad[index] = (plus - minus) / (2 * h)
        grads["d" + key] = grad
    return grads


def tensorflow_loss_and_grads(X, Y, params, act_name):
    """tf.GradientTape of sum((A - Y)**2) / (2m), with the network written in TensorFlow ops."""
    tf_act = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid}[act_name]
    variables = {key: tf.Variable(value, dtype=tf.float64) for key, value in params.items()}
    A = tf.constant(X, dtype=tf.float64)
    Y_tf = tf.constant(Y, dtype=tf.float64)
    m = Y.shape[1]
    with tf.GradientTape() as tape:
        for l in range(1, len(params) // 2 + 1):
            A = tf_act(tf.matmul(variables[f"W{l}"], A) + variables[f"b{l}"])
        loss = tf.reduce_sum((A - Y_tf) ** 2) / (2 * m)
    keys = list(variables)
    gradients = tape.gradient(loss, [variables[key] for key in keys])
    return float(loss.numpy()), {"d" + key: g.numpy() for key, g in zip(keys, gradients)}


def assert_grads_match(grads, oracle, rtol, atol):
    assert set(grads) == set(oracle), f"gradient keys {sorted(grads)} != {sorted(oracle)}"
    for key in sorted(oracle):
        assert np.shape(grads[key]) == oracle[key].shape, (
            f"{key}: shape {np.shape(grads[key])} != {oracle[key].shape}"
        )
        np.testing.assert_allclose(grads[key], oracle[key], rtol=rtol, atol=atol, err_msg=key)


def assert_shapes(grads, params):
    for key, value in params.items():
        assert grads["d" + key].shape == value.shape, f"d{key} has shape {grads['d' + key].shape}"
        if key.startswith("b"):
            assert grads["d" + key].shape == (value.shape[0], 1)


def assert_not_trivial(oracle):
    """Guard against vacuous comparisons: zero gradients would match anything that is zero too."""
    for key, g in oracle.items():
        assert np.max(np.abs(g)) > NONTRIVIAL, f"oracle {key} is (almost) all zero: {g}"


# ----------------------------------------------------------------------------------------------
# The reference against the oracles
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_dims, m, act_name, seed", CASES)
def test_back_propagation_matches_finite_differences(layer_dims, m, act_name, seed):
    X, Y, params, act = make_problem(layer_dims, m, act_name, seed)
    grads = reference_grads(X, Y, params, act)
    oracle = finite_difference_grads(X, Y, params, act)
    assert_not_trivial(oracle)
    assert_shapes(grads, params)
    assert_grads_match(grads, oracle, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("layer_dims, m, act_name, seed", CASES)
def test_back_propagation_matches_tensorflow_autodiff(layer_dims, m, act_name, seed):
    X, Y, params, act = make_problem(layer_dims, m, act_name, seed)
    grads = reference_grads(X, Y, params, act)
    tf_loss, oracle = tensorflow_loss_and_grads(X, Y, params, act_name)
    assert_not_trivial(oracle)
    # the two implementations compute the same loss in the first place
    A, _ = ref.forward_propagation(X, params, act)
    np.testing.assert_allclose(ref.compute_cost(A, Y), tf_loss, rtol=1e-12, atol=1e-14)
    assert_shapes(grads, params)
    assert_grads_match(grads, oracle, rtol=TF_RTOL, atol=TF_ATOL)


def test_back_propagation_leaves_inputs_untouched():
    X, Y, params, act = make_problem([4, 5, 3], 6, "sigmoid", 0)
    before = {key: value.copy() for key, value in params.items()}
    X_before, Y_before = X.copy(), Y.copy()
    reference_grads(X, Y, params, act)
    for key in before:
        np.testing.assert_array_equal(params[key], before[key])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Y, Y_before)


def test_forward_propagation_caches_and_shapes():
    X, Y, params, act = make_problem([3, 6, 4, 2], 5, "relu", 1)
    A, caches = ref.forward_propagation(X, params, act)
    assert A.shape == (2, 5)
    assert sorted(caches) == ["A0", "A1", "A2", "A3", "Z1", "Z2", "Z3"]
    assert caches["A0"] is X
    np.testing.assert_array_equal(caches["A3"], A)
    np.testing.assert_allclose(caches["Z1"], params["W1"] @ X + params["b1"])
    np.testing.assert_allclose(caches["A1"], np.maximum(0, caches["Z1"]))


def test_activation_derivatives_match_finite_differences():
    x = np.random.RandomState(3).randn(4, 50) * 3
    x = x[np.abs(x) > KINK_MARGIN].reshape(1, -1)  # stay off the ReLU kink
    for act in (ref.ReLU(), ref.Sigmoid()):
        numeric = (act(x + FD_STEP) - act(x - FD_STEP)) / (2 * FD_STEP)
        np.testing.assert_allclose(act.derivative(x), numeric, rtol=FD_RTOL, atol=FD_ATOL)
    # the documented convention at the kink: relu'(0) = 1
    assert ref.ReLU().derivative(np.array([0.0]))[0] == 1


def test_initialize_dnn_parameters_shapes_and_scale():
    """The test problems above mimic initialize_dnn_parameters; it uses the global np.random, so its
    state is saved and restored around the call."""
    state = np.random.get_state()
    try:
        np.random.seed(123)
        params = ref.initialize_dnn_parameters([6, 5, 4, 3, 2])
        np.random.seed(123)
        expected_W1 = np.sqrt(1 / 6) * np.random.randn(5, 6)
    finally:
        np.random.set_state(state)
    assert sorted(params) == ["W1", "W2", "W3", "W4", "b1", "b2", "b3", "b4"]
    for l, (n, n_prev) in enumerate([(5, 6), (4, 5), (3, 4), (2, 3)], start=1):
        assert params[f"W{l}"].shape == (n, n_prev)
        assert params[f"b{l}"].shape == (n, 1)
        assert np.all(params[f"b{l}"] == 0)
    np.testing.assert_array_equal(params["W1"], expected_W1)


# ----------------------------------------------------------------------------------------------
# The oracles can fail: known-wrong gradients are rejected by both
# ----------------------------------------------------------------------------------------------
def _db_as_mean(X, Y, params, act, m):
    grads = reference_grads(X, Y, params, act)
    return {k: (v / m if k.startswith("db") else v) for k, v in grads.items()}


def _missing_one_over_m(X, Y, params, act, m):
    return {k: v * m for k, v in reference_grads(X, Y, params, act).items()}


def _no_output_derivative(X, Y, params, act, m):
    """Forgets the act'(Z_L) factor in dZ_L (i.e. treats the output layer as linear)."""
    class LinearAtOutput:
        def __init__(self):
            self.calls = 0

        def __call__(self, Z):
            self.calls += 1
            return np.ones_like(Z) if self.calls == 1 else act.derivative(Z)

    _, caches = ref.forward_propagation(X, params, act)
    return ref.back_propagation(Y, params, caches, LinearAtOutput())


def _db_without_keepdims(X, Y, params, act, m):
    grads = reference_grads(X, Y, params, act)
    return {k: (v.ravel() if k.startswith("db") else v) for k, v in grads.items()}


WRONG_GRADIENTS = {
    "db-as-mean": _db_as_mean,
    "missing-1/m": _missing_one_over_m,
    "no-output-derivative": _no_output_derivative,
    "db-shape-(n,)": _db_without_keepdims,
}


@pytest.mark.parametrize("oracle_name", ["finite-differences", "tensorflow"])
@pytest.mark.parametrize("mistake", list(WRONG_GRADIENTS))
@pytest.mark.parametrize("act_name", list(ACTIVATIONS))
def test_known_wrong_gradients_are_detected(mistake, oracle_name, act_name):
    layer_dims, m = [4, 5, 3], 6
    X, Y, params, act = make_problem(layer_dims, m, act_name, 0)
    if oracle_name == "finite-differences":
        oracle, rtol, atol = finite_difference_grads(X, Y, params, act), FD_RTOL, FD_ATOL
    else:
        oracle, rtol, atol = tensorflow_loss_and_grads(X, Y, params, act_name)[1], TF_RTOL, TF_ATOL
    # the right gradients pass on this very problem ...
    assert_grads_match(reference_grads(X, Y, params, act), oracle, rtol=rtol, atol=atol)
    # ... and the wrong ones do not
    wrong = WRONG_GRADIENTS[mistake](X, Y, params, act, m)
    with pytest.raises(AssertionError):
        assert_grads_match(wrong, oracle, rtol=rtol, atol=atol)
