"""Hidden tests of Homework 3: what the grader checks beyond the public tests.

Called from the hidden regions of the master notebook's test cells, one function per graded cell,
with the student's function or class passed in. Each test uses its own seeds, sizes and settings
(other than the public ones), swaps in the grader's reference pieces (``hw3kit.reference``) for
everything except the exercise under test, and names the known mistake when a wrong answer matches
one. Helpers and message formats come from ``public_tests``, which nbgrader restores from the
source folder next to every submission before grading; every test first checks that the notebook has
not tampered with numpy, the built-ins or those helpers (``hw3kit.integrity``).
"""
import functools

import numpy as np

from hw3kit import integrity
from hw3kit import reference as ref

# A private copy of the public test helpers, loaded from the read-only file next to the notebook:
# notebook code cannot have patched it (see hw3kit.integrity).
pt = integrity.trusted_public_tests()


def guarded(exercise):
    """Refuse to run (and fail the cell) when the notebook has tampered with what the tests use."""
    def decorate(test):
        @functools.wraps(test)
        def run_guarded(*args, **kwargs):
            integrity.check(exercise, pt)
            return test(*args, **kwargs)
        return run_guarded
    return decorate

FINITE_DIFFERENCE_STEP = 1e-6


def random_network(seed, layer_dims, bias_scale=0.5):
    """Parameters with non-zero biases (so that code ignoring b fails), from a private generator."""
    rs = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = rs.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters[f"b{l}"] = bias_scale * rs.randn(layer_dims[l], 1)
    return parameters


def hint_for(received, variants, default=None):
    """The hint of the first known mistake whose result matches what the student returned."""
    for hint, variant in variants.items():
        try:
            if np.shape(received) == np.shape(variant) and np.allclose(received, variant, atol=1e-7, rtol=1e-6):
                return hint
        except (TypeError, ValueError):
            continue
    return default


# --- Exercise 1 -------------------------------------------------------------------------------

@guarded(1)
def test_initialize_dnn_parameters(initialize_dnn_parameters):
    for seed, layer_dims in ((7, [6, 3, 4, 2]), (21, [3, 1]), (4, [8, 8, 8, 8, 5])):
        with pt.seeded(seed):
            expected = ref.initialize_dnn_parameters(layer_dims)
        with pt.seeded(seed):
            received = pt.run(1, f"initialize_dnn_parameters({layer_dims})", initialize_dnn_parameters, layer_dims)
        pt.check_keys(1, f"parameters for layer_dims={layer_dims}", received, expected)
        for l in range(1, len(layer_dims)):
            n, n_prev = layer_dims[l], layer_dims[l - 1]
            with pt.seeded(seed):
                raw = [np.random.randn(layer_dims[k], layer_dims[k - 1]) for k in range(1, len(layer_dims))][l - 1]
            hint = hint_for(received[f"W{l}"], {
                "the weights are not scaled: multiply the normal samples by np.sqrt(1 / layer_dims[l-1]).": raw,
                "scale by the size of the previous layer, np.sqrt(1 / layer_dims[l-1]), not of the current one.":
                    raw * np.sqrt(1 / n) if n != n_prev else None,
                "that is He initialization, sqrt(2 / n_prev); this homework uses sqrt(1 / n_prev).": raw * np.sqrt(2 / n_prev),
                "the variance is 1 / n_prev, so the scale (standard deviation) is its square root.": raw / n_prev,
            }, "W_l = np.sqrt(1 / layer_dims[l-1]) * np.random.randn(layer_dims[l], layer_dims[l-1]), drawn in "
               "order W1, W2, ...; draw no other random numbers.")
            pt.check_array(1, f"W{l} for layer_dims={layer_dims}", received[f"W{l}"], expected[f"W{l}"], hint)
            pt.check_array(1, f"b{l} for layer_dims={layer_dims}", received[f"b{l}"], expected[f"b{l}"],
                           "biases are zero columns of shape (layer_dims[l], 1).")


# --- Exercise 2 -------------------------------------------------------------------------------

def _relu_inputs():
    rs = np.random.RandomState(12)
    x = rs.randn(3, 4, 5)
    x[0, 0, :3] = 0.0          # exact zeros: ReLU'(0) = 1 in this homework
    x[1, 2, 1] = -0.0
    x[2, 3, 4] = 1e-300        # tiny positive and negative values
    x[2, 3, 3] = -1e-300
    return x


@guarded(2)
def test_relu_forward(ReLU):
    x = _relu_inputs()
    relu = pt.run(2, "ReLU()", ReLU)
    received = pt.run(2, "ReLU().forward(x)", relu.forward, x.copy())
    pt.check_array(2, "ReLU().forward(x) on a 3-D array with zeros", received, ref.ReLU().forward(x),
                   hint_for(received, {"ReLU keeps the positive values themselves, not 1: np.maximum(0, x).": (x > 0) * 1.0},
                            "ReLU(x) = max(0, x) element-wise: np.maximum(0, x)."))
    called = pt.run(2, "ReLU()(x)", relu, x.copy())
    pt.check_array(2, "ReLU()(x)", called, ref.ReLU().forward(x), "__call__ must return forward(x).")
    original = x.copy()
    pt.run(2, "ReLU().forward(x)", relu.forward, x)
    if not np.array_equal(x, original):
        pt.fail(2, "ReLU().forward(x) changed its input x in place.", "return a new array, e.g. np.maximum(0, x).")


@guarded(2)
def test_relu_derivative(ReLU):
    x = _relu_inputs()
    relu = pt.run(2, "ReLU()", ReLU)
    received = pt.run(2, "ReLU().derivative(x)", relu.derivative, x.copy())
    pt.check_array(2, "ReLU().derivative(x) on a 3-D array with exact zeros", received, ref.ReLU().derivative(x),
                   hint_for(received, {"ReLU'(0) must be 1 in this homework: use x >= 0, not x > 0.": (x > 0) * 1.0},
                            "the derivative is 1 where x >= 0 and 0 where x < 0."))
    original = x.copy()
    pt.run(2, "ReLU().derivative(x)", relu.derivative, x)
    if not np.array_equal(x, original):
        pt.fail(2, "ReLU().derivative(x) changed its input x in place.", "return a new array.")


# --- Exercise 3 -------------------------------------------------------------------------------

@guarded(3)
def test_layer(layer):
    for seed, (n, n_prev, m), act in ((31, (4, 6, 7), ref.Sigmoid()), (32, (1, 3, 2), ref.ReLU())):
        rs = np.random.RandomState(seed)
        A_prev, W, b = rs.randn(n_prev, m), rs.randn(n, n_prev), rs.randn(n, 1)
        if isinstance(act, ref.Sigmoid):
            b[0, 0] = -800.0  # a correct Sigmoid overflows in exp here: its warning must cost nothing
        result = pt.run(3, "layer(A_prev, W, b, act)", layer, A_prev, W, b, act)
        if not isinstance(result, tuple) or len(result) != 2:
            pt.fail(3, f"layer should return the pair (A, Z); received {type(result).__name__}.")
        with np.errstate(over="ignore"):  # the grader's own overflow stays silent
            expected_A, expected_Z = ref.layer(A_prev, W, b, act)
        A, Z = result
        pt.check_array(3, f"Z ({n}x{n_prev} weights, {m} samples)", Z, expected_Z, hint_for(Z, {
            "the bias b is missing: Z = W @ A_prev + b.": W @ A_prev,
        }, "Z = W @ A_prev + b."))
        pt.check_array(3, f"A with {type(act).__name__} activation", A, expected_A, hint_for(A, {
            "apply the activation passed as `act`, not ReLU().": np.maximum(0, expected_Z),
            "A is act(Z), and the function returns (A, Z) in that order.": expected_Z,
        }, "A = act(Z)."))


# --- Exercise 4 -------------------------------------------------------------------------------

@guarded(4)
def test_forward_propagation(forward_propagation):
    for seed, layer_dims, act in ((41, [5, 4, 6, 3], ref.Sigmoid()), (42, [3, 2], ref.ReLU()),
                                  (43, [4, 3, 3, 3, 2], ref.ReLU())):
        parameters = random_network(seed, layer_dims)
        X = np.random.RandomState(seed + 100).randn(layer_dims[0], 6)
        expected_A, expected_caches = ref.forward_propagation(X, parameters, act)
        with pt.replaced(forward_propagation, layer=ref.layer):
            result = pt.run(4, "forward_propagation(X, parameters, act)", forward_propagation, X, parameters, act)
        if not isinstance(result, tuple) or len(result) != 2:
            pt.fail(4, f"forward_propagation should return (A, caches); received {type(result).__name__}.")
        A, caches = result
        pt.check_keys(4, f"caches for layers {layer_dims}", caches, expected_caches,
                      "cache A0 = X, and Z_l and A_l for every layer l = 1..L (L = len(parameters) // 2).")
        relu_A = ref.forward_propagation(X, parameters, ref.ReLU())[0]
        for key in expected_caches:
            pt.check_array(4, f"caches['{key}'] for layers {layer_dims}", caches[key], expected_caches[key],
                           "pass each layer the previous layer's output A, that layer's W and b, and `act`.")
        pt.check_array(4, f"the returned A for layers {layer_dims}", A, expected_A, hint_for(A, {
            "pass the activation `act` on to layer(); do not rely on its default.": relu_A,
        }, "return the last layer's activation A_L."))


# --- Exercise 5 -------------------------------------------------------------------------------

def _cost_of(parameters, X, Y, act):
    return ref.compute_cost(ref.forward_propagation(X, parameters, act)[0], Y)


def finite_difference_gradients(parameters, X, Y, act, h=FINITE_DIFFERENCE_STEP):
    """Central differences of the cost with respect to every parameter entry: an oracle that does
    not use back propagation at all."""
    grads = {}
    for key, value in parameters.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in parameters.items()}
            shifted[key][index] = value[index] + h
            plus = _cost_of(shifted, X, Y, act)
            shifted[key][index] = value[index] - h
            grad[index] = (plus - _cost_of(shifted, X, Y, act)) / (2 * h)
        grads["d" + key] = grad
    return grads


@guarded(5)
def test_back_propagation(back_propagation):
    for seed, layer_dims, act in ((51, [4, 5, 3, 2], ref.Sigmoid()), (52, [3, 4, 1], ref.ReLU()),
                                  (53, [2, 3], ref.Sigmoid())):
        parameters = random_network(seed, layer_dims)
        rs = np.random.RandomState(seed + 100)
        m = 7
        X, Y = rs.randn(layer_dims[0], m), rs.randn(layer_dims[-1], m)
        _, caches = ref.forward_propagation(X, parameters, act)
        expected = ref.back_propagation(Y, parameters, caches, act.derivative)
        frozen = {key: value.copy() for key, value in caches.items()}
        received = pt.run(5, "back_propagation(Y, parameters, caches, act_derivative)", back_propagation,
                          Y, parameters, caches, act.derivative)
        pt.check_keys(5, f"grads for layers {layer_dims}", received, expected)
        numeric = finite_difference_gradients(parameters, X, Y, act)
        for l in range(len(layer_dims) - 1, 0, -1):
            dW, db = received[f"dW{l}"], received[f"db{l}"]
            pt.check_array(5, f"dW{l} for layers {layer_dims} ({type(act).__name__})", dW, expected[f"dW{l}"],
                           hint_for(dW, {"dW is already averaged through dZ: do not divide by m again.":
                                             expected[f"dW{l}"] / m},
                                    "dW = dZ @ A_prev.T with A_prev = caches['A' + str(l-1)]."))
            pt.check_array(5, f"db{l} for layers {layer_dims} ({type(act).__name__})", db, expected[f"db{l}"],
                           hint_for(db, {"db is a sum over the samples, not a mean: the 1/m is already in dZ.":
                                             expected[f"db{l}"] / m,
                                         "keep db a column of shape (n, 1): np.sum(dZ, axis=1, keepdims=True).":
                                             expected[f"db{l}"].ravel()},
                                    "db = np.sum(dZ, axis=1, keepdims=True)."))
            pt.check_array(5, f"dW{l} against finite differences of the cost", dW, numeric[f"dW{l}"],
                           "the gradient must be the derivative of compute_cost.", atol=1e-6, rtol=1e-4)
            pt.check_array(5, f"db{l} against finite differences of the cost", db, numeric[f"db{l}"],
                           "the gradient must be the derivative of compute_cost.", atol=1e-6, rtol=1e-4)
        for key, value in frozen.items():
            if not np.array_equal(caches[key], value):
                pt.fail(5, f"back_propagation changed caches['{key}'] in place.", "compute new arrays instead.")


# --- Exercise 6 -------------------------------------------------------------------------------

def _reference_pieces():
    return dict(initialize_dnn_parameters=ref.initialize_dnn_parameters,
                forward_propagation=ref.forward_propagation, back_propagation=ref.back_propagation)


@guarded(6)
def test_network_initialize(NeuralNetwork):
    for seed, (n_x, n_y, n_h, depth) in ((61, (7, 2, 5, 4)), (62, (3, 1, 9, 1)), (63, (4, 3, 2, 2))):
        layer_dims = [n_x] + [n_h] * (depth - 1) + [n_y]
        with pt.seeded(seed):
            expected = ref.initialize_dnn_parameters(layer_dims)
        with pt.seeded(seed), pt.replaced(NeuralNetwork, **_reference_pieces()):
            network = pt.run(6, f"NeuralNetwork({n_x}, {n_y}, {n_h}, depth={depth}, act=Sigmoid())",
                             NeuralNetwork, n_x, n_y, n_h, depth, ref.Sigmoid())
        received = getattr(network, "parameters", None)
        pt.check_keys(6, f"network.parameters for depth {depth}", received, expected,
                      "self.parameters = initialize_dnn_parameters(layer_dims)")
        for key in expected:
            pt.check_array(6, f"network.parameters['{key}'] (n_x={n_x}, n_y={n_y}, n_h={n_h}, depth={depth})",
                           received[key], expected[key], "initialize with the layer_dims list built in initialize().")


@guarded(6)
def test_network_backward(NeuralNetwork):
    for seed, (n_x, n_y, n_h, depth), act in ((64, (4, 2, 3, 3), ref.Sigmoid()), (65, (3, 1, 4, 2), ref.ReLU())):
        rs = np.random.RandomState(seed)
        X, Y = rs.randn(n_x, 5), rs.randn(n_y, 5)
        parameters = random_network(seed, [n_x] + [n_h] * (depth - 1) + [n_y])
        network = pt.bare_network(NeuralNetwork, n_x, n_y, n_h, depth, act, parameters)
        with pt.replaced(NeuralNetwork, **_reference_pieces()):
            pt.run(6, "network(X)", network, X)
            pt.run(6, "network.backward(Y)", network.backward, Y)
        _, caches = ref.forward_propagation(X, network.parameters, act)
        expected = ref.back_propagation(Y, network.parameters, caches, act.derivative)
        relu_grads = ref.back_propagation(Y, network.parameters, caches, ref.ReLU().derivative)
        received = getattr(network, "grads", None)
        pt.check_keys(6, f"network.grads ({type(act).__name__} network)", received, expected,
                      "self.grads = back_propagation(Y, self.parameters, self.caches, self.act.derivative)")
        for key in expected:
            pt.check_array(6, f"network.grads['{key}'] ({type(act).__name__} network)", received[key], expected[key],
                           hint_for(received[key], {"pass self.act.derivative to back_propagation; without it "
                                                    "the ReLU default is used.": relu_grads[key]},
                                    "use back_propagation with the network's parameters, caches and activation."))


# --- Exercise 7 and 8 -------------------------------------------------------------------------

def _gradients_like(parameters, seed):
    rs = np.random.RandomState(seed)
    return {"d" + key: rs.randn(*value.shape) for key, value in parameters.items()}


@guarded(7)
def test_gradient_descent_step(gradient_descent_step):
    for seed, layer_dims, learning_rate in ((71, [4, 3, 5, 2], 0.37), (72, [2, 1], 1.5)):
        parameters = random_network(seed, layer_dims)
        grads = _gradients_like(parameters, seed + 1)
        expected = {key: value.copy() for key, value in parameters.items()}
        ref.gradient_descent_step(expected, grads, learning_rate)
        frozen_grads = {key: value.copy() for key, value in grads.items()}
        pt.run(7, f"gradient_descent_step(parameters, grads, {learning_rate})",
               gradient_descent_step, parameters, grads, learning_rate)
        for key in expected:
            pt.check_array(7, f"parameters['{key}'] after one step (learning_rate={learning_rate})",
                           parameters[key], expected[key],
                           "W = W - learning_rate * dW for every layer, stored back into parameters.")
        for key, value in frozen_grads.items():
            if not np.array_equal(grads[key], value):
                pt.fail(7, f"gradient_descent_step changed grads['{key}'].", "only parameters change.")


@guarded(8)
def test_gradient_descent(GradientDescent):
    parameters = random_network(81, [3, 4, 2])
    network = pt.StandInNetwork(parameters, _gradients_like(parameters, 82))
    expected = pt.StandInNetwork(parameters, network.grads)
    optimizer = pt.run(8, "GradientDescent(network, learning_rate=0.05)", GradientDescent, network, 0.05)
    for step in (1, 2):
        with pt.replaced(GradientDescent, gradient_descent_step=ref.gradient_descent_step):
            pt.run(8, f"step {step} of optimizer.step()", optimizer.step)
        ref.gradient_descent_step(expected.parameters, expected.grads, 0.05)
        for key in expected.parameters:
            pt.check_array(8, f"network.parameters['{key}'] after step {step}", network.parameters[key],
                           expected.parameters[key],
                           "step() calls gradient_descent_step(self.network.parameters, self.network.grads, "
                           "self.learning_rate).")


# --- Exercises 9 to 11 ------------------------------------------------------------------------

def _trajectory(make_optimizer, steps, seed, layer_dims=(3, 4, 2)):
    """Parameters after each of ``steps`` steps of a fresh optimizer, each step with new gradients."""
    parameters = random_network(seed, list(layer_dims))
    network = pt.StandInNetwork(parameters, _gradients_like(parameters, seed))
    optimizer = make_optimizer(network)
    snapshots = []
    for step in range(steps):
        network.grads = _gradients_like(parameters, seed + 1 + step)
        optimizer.step()
        snapshots.append({key: np.array(value, dtype=float) for key, value in network.parameters.items()})
    return snapshots


def _student_trajectory(exercise, name, label, student_class, settings, steps, seed):
    try:
        return _trajectory(lambda net: student_class(net, **settings), steps, seed)
    except AssertionError:
        raise
    except NotImplementedError:
        pt.fail(exercise, f"{name}.step() raised NotImplementedError: replace it with your code.")
    except Exception as error:
        pt.fail(exercise, f"{name}({label}) or its step() raised {type(error).__name__}: {error}")


def _check_optimizer(exercise, name, student_class, reference_class, settings, mistakes, rule, steps=3, seed=91):
    """Three steps of a fresh optimizer with new gradients at each step, against the reference."""
    label = ", ".join(f"{key}={value}" for key, value in settings.items())
    expected = _trajectory(lambda net: reference_class(net, **settings), steps, seed)
    received = _student_trajectory(exercise, name, label, student_class, settings, steps, seed)
    variants = {hint: _trajectory(lambda net: variant(net, **settings), steps, seed) for hint, variant in mistakes.items()}
    for step, (got, want) in enumerate(zip(received, expected), start=1):
        for key in want:
            hint = hint_for(got[key], {h: v[step - 1][key] for h, v in variants.items()}, rule)
            pt.check_array(exercise, f"parameter {key} after step {step} of a fresh {name}({label})",
                           got[key], want[key], hint)


class _MomentumNoDamping(ref.GradientDescentWithMomentum):
    def step(self):
        for key, param in self.network.parameters.items():
            v = self.beta * self.velocities.get(key, 0) + self.network.grads["d" + key]
            self.velocities[key] = v
            self.network.parameters[key] = param - self.learning_rate * v


class _Forgetful:
    """Wraps a reference optimizer class so that its state is reset before every step."""

    def __init__(self, reference_class):
        self.reference_class = reference_class

    def __call__(self, network, **settings):
        optimizer = self.reference_class(network, **settings)
        step = optimizer.step

        def forgetful_step():
            for name in ("velocities", "squared_gradients"):
                if hasattr(optimizer, name):
                    getattr(optimizer, name).clear()
            step()
        optimizer.step = forgetful_step
        return optimizer


class _RMSPropEpsilonInside(ref.RMSProp):
    def step(self):
        for key, param in self.network.parameters.items():
            grad = self.network.grads["d" + key]
            s = self.beta * self.squared_gradients.get(key, 0) + (1 - self.beta) * grad**2
            self.squared_gradients[key] = s
            self.network.parameters[key] = param - self.learning_rate * grad / np.sqrt(s + self.epsilon)


class _AdamVariant(ref.Adam):
    bias_corrected = False
    epsilon_inside = False

    def step(self):
        self.t = getattr(self, "t", 0) + 1
        for key, param in self.network.parameters.items():
            grad = self.network.grads["d" + key]
            v = self.beta1 * self.velocities.get(key, 0) + (1 - self.beta1) * grad
            s = self.beta2 * self.squared_gradients.get(key, 0) + (1 - self.beta2) * grad**2
            self.velocities[key], self.squared_gradients[key] = v, s
            if self.bias_corrected:
                v, s = v / (1 - self.beta1**self.t), s / (1 - self.beta2**self.t)
            root = np.sqrt(s + self.epsilon) if self.epsilon_inside else np.sqrt(s) + self.epsilon
            self.network.parameters[key] = param - self.learning_rate * v / root


class _AdamBiasCorrected(_AdamVariant):
    bias_corrected = True


class _AdamEpsilonInside(_AdamVariant):
    epsilon_inside = True


@guarded(9)
def test_momentum(GradientDescentWithMomentum):
    mistakes = {"v = beta * v + (1 - beta) * grad: the factor (1 - beta) is missing.": _MomentumNoDamping,
                "keep the velocity between steps: store it in self.velocities[key].":
                    _Forgetful(ref.GradientDescentWithMomentum)}
    rule = "v = beta * v + (1 - beta) * grad, then param = param - learning_rate * v."
    _check_optimizer(9, "GradientDescentWithMomentum", GradientDescentWithMomentum, ref.GradientDescentWithMomentum,
                     {"learning_rate": 0.3, "beta": 0.7}, mistakes, rule)
    _check_optimizer(9, "GradientDescentWithMomentum", GradientDescentWithMomentum, ref.GradientDescentWithMomentum,
                     {"learning_rate": 0.05}, mistakes, rule, seed=92)


@guarded(10)
def test_rmsprop(RMSProp):
    mistakes = {"epsilon goes outside the square root: grad / (np.sqrt(s) + epsilon).": _RMSPropEpsilonInside,
                "keep s between steps: store it in self.squared_gradients[key].": _Forgetful(ref.RMSProp)}
    rule = "s = beta * s + (1 - beta) * grad**2, then param = param - learning_rate * grad / (np.sqrt(s) + epsilon)."
    _check_optimizer(10, "RMSProp", RMSProp, ref.RMSProp,
                     {"learning_rate": 0.2, "beta": 0.6, "epsilon": 0.5}, mistakes, rule)
    _check_optimizer(10, "RMSProp", RMSProp, ref.RMSProp, {"learning_rate": 0.01}, mistakes, rule, seed=93)


@guarded(11)
def test_adam(Adam):
    mistakes = {"this homework's Adam has no bias correction: use v and s as they are.": _AdamBiasCorrected,
                "epsilon goes outside the square root: v / (np.sqrt(s) + epsilon).": _AdamEpsilonInside,
                "keep v and s between steps: store them in self.velocities and self.squared_gradients.":
                    _Forgetful(ref.Adam)}
    rule = ("v = beta1 * v + (1 - beta1) * grad, s = beta2 * s + (1 - beta2) * grad**2, then "
            "param = param - learning_rate * v / (np.sqrt(s) + epsilon).")
    _check_optimizer(11, "Adam", Adam, ref.Adam,
                     {"learning_rate": 0.2, "beta1": 0.7, "beta2": 0.85, "epsilon": 0.3}, mistakes, rule)
    _check_optimizer(11, "Adam", Adam, ref.Adam, {"learning_rate": 0.01}, mistakes, rule, seed=94)
