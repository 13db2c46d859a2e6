"""The grader's hidden checks of Homework 3: what it verifies beyond the public tests.

This module runs in the grader's own process. It is never released to students and never visible to
the sandbox in which a submission's code runs. Each ``test_<name>(thing, ref)`` receives the
student's function or class (in the grader, a handle to it in the sandboxed process) and ``ref``, the
reference definitions of the master notebook (its solution and given cells). Everything that needs
the reference is computed here, with ``ref``; the student's process only ever receives plain data,
handles to its own objects, and stand-ins made by its side (``checklib.student_side``) that answer
with recorded data: what the correct code would call them with and what they return. Known mistakes
are named by computing their results here and comparing (``checklib.hint_for``).

The comparisons, stand-ins and failures are the course's check library (``checklib``, the engine's
``isograde/checklib.py``; in the grader, the engine's own file); this file holds homework 3's checks
only, and takes homework 3's stand-ins (a network, ``layer``'s parameters) from its public tests.

Each test uses its own seeds, sizes and settings, other than the public tests' ones, so that no
recorded table answers another exercise's check. Every seed goes through ``cl.variant``: in the kit's grader each
attempt draws its own inputs (the sizes and the planted zeros stay), so that what one attempt's feedback shows
does not answer the next.
"""
import copy
import types

import numpy as np

import checklib as cl
import public_tests as pt

FINITE_DIFFERENCE_STEP = 1e-6


# --- Known mistakes ------------------------------------------------------------------------------
# The hints below name one known mistake each: the checks show them when a student's result matches
# that mistake (computed here, ``cl.hint_for``). The class report (coursekit/reports/statistics.py) counts them
# across the class from the hint the grader records for each failing test cell, with what the
# students who get it did: "12 students put epsilon inside the square root in RMSProp".
KNOWN_MISTAKES = {}  # hint -> what the students who get it did


def known_mistake(did, hint):
    KNOWN_MISTAKES[hint] = did
    return hint


W_UNSCALED = known_mistake('left the initial weights unscaled (no sqrt(1 / n_prev))',
                            'the weights are not scaled: multiply the normal samples by np.sqrt(1 / layer_dims[l-1]).')
W_SCALED_BY_CURRENT = known_mistake("scaled the initial weights by the current layer's size instead of the previous one's",
                                     'scale by the size of the previous layer, np.sqrt(1 / layer_dims[l-1]), not of the current one.')
W_HE = known_mistake('used He initialization, sqrt(2 / n_prev)',
                      'that is He initialization, sqrt(2 / n_prev); this homework uses sqrt(1 / n_prev).')
W_VARIANCE_AS_SCALE = known_mistake('scaled the initial weights by the variance 1 / n_prev instead of its square root',
                                     'the variance is 1 / n_prev, so the scale (standard deviation) is its square root.')
RELU_MASK = known_mistake('returned the mask (x > 0) from ReLU.forward instead of max(0, x)',
                           'ReLU keeps the positive values themselves, not 1: np.maximum(0, x).')
RELU_DERIVATIVE_AT_ZERO = known_mistake("took ReLU'(0) = 0 (x > 0 instead of x >= 0)",
                                         "ReLU'(0) must be 1 in this homework: use x >= 0, not x > 0.")
LAYER_NO_BIAS = known_mistake('left the bias b out of Z in layer',
                               'the bias b is missing: Z = W @ A_prev + b.')
LAYER_RELU_NOT_ACT = known_mistake('applied ReLU() in layer instead of the activation passed as act',
                                    'apply the activation passed as `act`, not ReLU().')
LAYER_RETURNS_Z = known_mistake('returned Z where layer returns A (the pair swapped or no activation)',
                                 'A is act(Z), and the function returns (A, Z) in that order.')
FORWARD_ACT_NOT_PASSED = known_mistake('did not pass act on to layer() in forward propagation',
                                        'pass the activation `act` on to layer(); do not rely on its default.')
DW_DIVIDED_BY_M = known_mistake('divided dW by m a second time',
                                 'dW is already averaged through dZ: do not divide by m again.')
DB_MEAN = known_mistake('computed db as a mean instead of a sum',
                         'db is a sum over the samples, not a mean: the 1/m is already in dZ.')
DB_FLAT = known_mistake('returned db flat instead of a column (no keepdims=True)',
                         'keep db a column of shape (n, 1): np.sum(dZ, axis=1, keepdims=True).')
MOMENTUM_NO_DAMPING = known_mistake('left the factor (1 - beta) out of the momentum velocity',
                                     'v = beta * v + (1 - beta) * grad: the factor (1 - beta) is missing.')
MOMENTUM_FORGETS = known_mistake('did not keep the momentum velocity between steps',
                                  'keep the velocity between steps: store it in self.velocities[key].')
RMSPROP_EPSILON_INSIDE = known_mistake('put epsilon inside the square root in RMSProp',
                                        'epsilon goes outside the square root: grad / (np.sqrt(s) + epsilon).')
RMSPROP_FORGETS = known_mistake('did not keep s between RMSProp steps',
                                 'keep s between steps: store it in self.squared_gradients[key].')
ADAM_BIAS_CORRECTED = known_mistake("added bias correction to Adam (this homework's Adam has none)",
                                     "this homework's Adam has no bias correction: use v and s as they are.")
ADAM_EPSILON_INSIDE = known_mistake('put epsilon inside the square root in Adam',
                                     'epsilon goes outside the square root: v / (np.sqrt(s) + epsilon).')
ADAM_FORGETS = known_mistake('did not keep v and s between Adam steps',
                              'keep v and s between steps: store them in self.velocities and self.squared_gradients.')


def random_network(seed, layer_dims, bias_scale=0.5):
    """Parameters with non-zero biases (so that code ignoring b fails), from a private generator."""
    rs = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = rs.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters[f"b{l}"] = bias_scale * rs.randn(layer_dims[l], 1)
    return parameters


def activation(side, exercise, forward=(), derivative=(), hint=None):
    """A stand-in activation in the student's process: ``forward`` (also its call) and ``derivative``
    replay the recorded (arguments, result) pairs."""
    return side.namespace(call="forward",
                          forward=side.replay(exercise, "act", list(forward), hint=hint),
                          derivative=side.replay(exercise, "act_derivative", list(derivative), hint=hint))


# --- Exercise 1 -------------------------------------------------------------------------------

def test_initialize_dnn_parameters(initialize_dnn_parameters, ref):
    side = cl.student_side(initialize_dnn_parameters)
    for seed, layer_dims in ((7, [6, 3, 4, 2]), (21, [3, 1]), (4, [8, 8, 8, 8, 5])):
        seed = cl.variant(seed)
        with cl.seeded(seed):
            expected = ref.initialize_dnn_parameters(layer_dims)
        with cl.seeded(seed):
            raw = [np.random.randn(layer_dims[l], layer_dims[l - 1]) for l in range(1, len(layer_dims))]
        with side.seeded(seed):
            received = side.fetch(cl.run(1, f"initialize_dnn_parameters({layer_dims})",
                                         initialize_dnn_parameters, list(layer_dims)))
        cl.check_keys(1, f"parameters for layer_dims={layer_dims}", received, expected)
        for l in range(1, len(layer_dims)):
            n, n_prev = layer_dims[l], layer_dims[l - 1]
            hint = cl.hint_for(received[f"W{l}"], {
                W_UNSCALED:
                    raw[l - 1],
                W_SCALED_BY_CURRENT:
                    raw[l - 1] * np.sqrt(1 / n) if n != n_prev else None,
                W_HE:
                    raw[l - 1] * np.sqrt(2 / n_prev),
                W_VARIANCE_AS_SCALE:
                    raw[l - 1] / n_prev,
            }, "W_l = np.sqrt(1 / layer_dims[l-1]) * np.random.randn(layer_dims[l], layer_dims[l-1]), drawn in "
               "order W1, W2, ...; draw no other random numbers.")
            cl.check_array(1, f"W{l} for layer_dims={layer_dims}", received[f"W{l}"], expected[f"W{l}"], hint)
            cl.check_array(1, f"b{l} for layer_dims={layer_dims}", received[f"b{l}"], expected[f"b{l}"],
                           "biases are zero columns of shape (layer_dims[l], 1).")


# --- Exercise 2 -------------------------------------------------------------------------------

def relu_inputs():
    rs = np.random.RandomState(cl.variant(12))
    x = rs.randn(3, 4, 5)
    x[0, 0, :3] = 0.0          # exact zeros: ReLU'(0) = 1 in this homework
    x[1, 2, 1] = -0.0
    x[2, 3, 4] = 1e-300        # tiny positive and negative values
    x[2, 3, 3] = -1e-300
    return x


def check_input_unchanged(exercise, side, what, method, x, hint):
    """Call ``method`` on a live copy of ``x`` in the student's process and fail if it changed x."""
    live = side.put(x.copy())
    cl.run(exercise, what, method, live)
    if not np.array_equal(side.fetch(live), x):
        cl.fail(exercise, f"{what} changed its input x in place.", hint)


def test_relu_forward(ReLU, ref):
    side = cl.student_side(ReLU)
    x = relu_inputs()
    expected = ref.ReLU().forward(x)
    relu = cl.run(2, "ReLU()", ReLU)
    received = side.fetch(cl.run(2, "ReLU().forward(x)", relu.forward, x.copy()))
    cl.check_array(2, "ReLU().forward(x) on a 3-D array with zeros", received, expected,
                   cl.hint_for(received, {RELU_MASK: (x > 0) * 1.0},
                               "ReLU(x) = max(0, x) element-wise: np.maximum(0, x)."))
    called = side.fetch(cl.run(2, "ReLU()(x)", relu, x.copy()))
    cl.check_array(2, "ReLU()(x)", called, expected, "__call__ must return forward(x).")
    check_input_unchanged(2, side, "ReLU().forward(x)", relu.forward, x, "return a new array, e.g. np.maximum(0, x).")


def test_relu_derivative(ReLU, ref):
    side = cl.student_side(ReLU)
    x = relu_inputs()
    relu = cl.run(2, "ReLU()", ReLU)
    received = side.fetch(cl.run(2, "ReLU().derivative(x)", relu.derivative, x.copy()))
    cl.check_array(2, "ReLU().derivative(x) on a 3-D array with exact zeros", received, ref.ReLU().derivative(x),
                   cl.hint_for(received, {RELU_DERIVATIVE_AT_ZERO: (x > 0) * 1.0},
                               "the derivative is 1 where x >= 0 and 0 where x < 0."))
    check_input_unchanged(2, side, "ReLU().derivative(x)", relu.derivative, x, "return a new array.")


# --- Exercise 3 -------------------------------------------------------------------------------

def test_layer(layer, ref):
    side = cl.student_side(layer)
    for seed, (n, n_prev, m), act_name in ((31, (4, 6, 7), "Sigmoid"), (32, (1, 3, 2), "ReLU")):
        seed = cl.variant(seed)
        act = getattr(ref, act_name)()
        rs = np.random.RandomState(seed)
        A_prev, W, b = rs.randn(n_prev, m), rs.randn(n, n_prev), rs.randn(n, 1)
        if act_name == "Sigmoid":
            b[0, 0] = -800.0  # the activation's values here come from exp overflowing
        no_bias_Z = W @ A_prev
        with np.errstate(over="ignore"):  # the grader's own overflow stays silent
            expected_A, expected_Z = ref.layer(A_prev, W, b, act)
            no_bias_A = act(no_bias_Z)
        # act also answers the no-bias Z, so that the check of Z below names that mistake.
        stand_in = activation(side, 3, forward=[((expected_Z,), expected_A), ((no_bias_Z,), no_bias_A)],
                              hint="layer calls act(Z) with Z = W @ A_prev + b.")
        result = side.fetch(cl.run(3, "layer(A_prev, W, b, act)", layer, A_prev, W, b, stand_in))
        if not isinstance(result, tuple) or len(result) != 2:
            cl.fail(3, f"layer should return the pair (A, Z); received {type(result).__name__}.")
        A, Z = result
        cl.check_array(3, f"Z ({n}x{n_prev} weights, {m} samples)", Z, expected_Z, cl.hint_for(Z, {
            LAYER_NO_BIAS: no_bias_Z,
        }, "Z = W @ A_prev + b."))
        cl.check_array(3, f"A with {act_name} activation", A, expected_A, cl.hint_for(A, {
            LAYER_RELU_NOT_ACT: np.maximum(0, expected_Z),
            LAYER_RETURNS_Z: expected_Z,
        }, "A = act(Z)."))


# --- Exercise 4 -------------------------------------------------------------------------------

def layer_calls(parameters, caches, act):
    """The calls of ``layer`` that produce ``caches``: ((A_prev, W, b, act), (A, Z)), layer by layer."""
    return [((caches[f"A{l - 1}"], parameters[f"W{l}"], parameters[f"b{l}"], act), (caches[f"A{l}"], caches[f"Z{l}"]))
            for l in range(1, len(parameters) // 2 + 1)]


def test_forward_propagation(forward_propagation, ref):
    side = cl.student_side(forward_propagation)
    propagate_hint = "pass each layer the previous layer's output A, that layer's W and b, and `act`."
    for seed, layer_dims, act_name in ((41, [5, 4, 6, 3], "Sigmoid"), (42, [3, 2], "ReLU"),
                                       (43, [4, 3, 3, 3, 2], "ReLU")):
        seed = cl.variant(seed)
        parameters = random_network(seed, layer_dims)
        X = np.random.RandomState(seed + 100).randn(layer_dims[0], 6)
        expected_A, expected_caches = ref.forward_propagation(X, parameters, getattr(ref, act_name)())
        relu_A = ref.forward_propagation(X, parameters, ref.ReLU())[0]
        act = activation(side, 4, forward=[((expected_caches[f"Z{l}"],), expected_caches[f"A{l}"])
                                           for l in range(1, len(layer_dims))], hint=propagate_hint)
        layer = side.replay(4, "layer", layer_calls(parameters, expected_caches, act),
                            hint="call layer(A_prev, W, b, act) for every layer, with the previous layer's output, "
                                 "that layer's W and b, and the activation `act` passed in (not layer's default).",
                            parameters=pt.LAYER_PARAMETERS)
        with side.replaced(forward_propagation, layer=layer):
            result = side.fetch(cl.run(4, "forward_propagation(X, parameters, act)",
                                       forward_propagation, X, parameters, act))
        if not isinstance(result, tuple) or len(result) != 2:
            cl.fail(4, f"forward_propagation should return (A, caches); received {type(result).__name__}.")
        A, caches = result
        cl.check_keys(4, f"caches for layers {layer_dims}", caches, expected_caches,
                      "cache A0 = X, and Z_l and A_l for every layer l = 1..L (L = len(parameters) // 2).")
        for key in expected_caches:
            cl.check_array(4, f"caches['{key}'] for layers {layer_dims}", caches[key], expected_caches[key],
                           propagate_hint)
        cl.check_array(4, f"the returned A for layers {layer_dims}", A, expected_A, cl.hint_for(A, {
            FORWARD_ACT_NOT_PASSED: relu_A,
        }, "return the last layer's activation A_L."))


# --- Exercise 5 -------------------------------------------------------------------------------

def finite_difference_gradients(ref, parameters, X, Y, act, h=FINITE_DIFFERENCE_STEP):
    """Central differences of the cost with respect to every parameter entry: an oracle that does
    not use back propagation at all."""
    def cost(shifted):
        return ref.compute_cost(ref.forward_propagation(X, shifted, act)[0], Y)

    grads = {}
    for key, value in parameters.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            shifted = cl.float_copies(parameters)
            shifted[key][index] = value[index] + h
            plus = cost(shifted)
            shifted[key][index] = value[index] - h
            grad[index] = (plus - cost(shifted)) / (2 * h)
        grads["d" + key] = grad
    return grads


def test_back_propagation(back_propagation, ref):
    side = cl.student_side(back_propagation)
    for seed, layer_dims, act_name in ((51, [4, 5, 3, 2], "Sigmoid"), (52, [3, 4, 1], "ReLU"),
                                       (53, [2, 3], "Sigmoid")):
        seed = cl.variant(seed)
        act = getattr(ref, act_name)()
        parameters = random_network(seed, layer_dims)
        rs = np.random.RandomState(seed + 100)
        m = 7
        X, Y = rs.randn(layer_dims[0], m), rs.randn(layer_dims[-1], m)
        _, caches = ref.forward_propagation(X, parameters, act)
        expected = ref.back_propagation(Y, parameters, caches, act.derivative)
        numeric = finite_difference_gradients(ref, parameters, X, Y, act)
        act_derivative = side.replay(5, "act_derivative", [((caches[f"Z{l}"],), act.derivative(caches[f"Z{l}"]))
                                                           for l in range(len(layer_dims) - 1, 0, -1)],
                                     hint="act_derivative is applied to each layer's Z, caches['Z' + str(l)].")
        live_caches = side.put(cl.float_copies(caches))
        received = side.fetch(cl.run(5, "back_propagation(Y, parameters, caches, act_derivative)",
                                     back_propagation, Y, parameters, live_caches, act_derivative))
        cl.check_keys(5, f"grads for layers {layer_dims}", received, expected)
        for l in range(len(layer_dims) - 1, 0, -1):
            dW, db = received[f"dW{l}"], received[f"db{l}"]
            cl.check_array(5, f"dW{l} for layers {layer_dims} ({act_name})", dW, expected[f"dW{l}"],
                           cl.hint_for(dW, {DW_DIVIDED_BY_M:
                                                expected[f"dW{l}"] / m},
                                       "dW = dZ @ A_prev.T with A_prev = caches['A' + str(l-1)]."))
            cl.check_array(5, f"db{l} for layers {layer_dims} ({act_name})", db, expected[f"db{l}"],
                           cl.hint_for(db, {DB_MEAN:
                                                expected[f"db{l}"] / m,
                                            DB_FLAT:
                                                expected[f"db{l}"].ravel()},
                                       "db = np.sum(dZ, axis=1, keepdims=True)."))
            cl.check_array(5, f"dW{l} against finite differences of the cost", dW, numeric[f"dW{l}"],
                           "the gradient must be the derivative of compute_cost.", atol=1e-6, rtol=1e-4)
            cl.check_array(5, f"db{l} against finite differences of the cost", db, numeric[f"db{l}"],
                           "the gradient must be the derivative of compute_cost.", atol=1e-6, rtol=1e-4)
        cl.check_unchanged(5, "back_propagation changed caches", side.fetch(live_caches), caches,
                           "compute new arrays instead.")


# --- Exercise 6 -------------------------------------------------------------------------------

def test_network_initialize(NeuralNetwork, ref):
    side = cl.student_side(NeuralNetwork)
    store_hint = "self.parameters = initialize_dnn_parameters(layer_dims)"
    for seed, (n_x, n_y, n_h, depth) in ((61, (7, 2, 5, 4)), (62, (3, 1, 9, 1)), (63, (4, 3, 2, 2))):
        seed = cl.variant(seed)
        layer_dims = [n_x] + [n_h] * (depth - 1) + [n_y]
        with cl.seeded(seed):
            expected = ref.initialize_dnn_parameters(layer_dims)
        initialize = side.spy(returns=cl.float_copies(expected))
        act = activation(side, 6, hint="building the network applies no activation.")
        what = f"NeuralNetwork({n_x}, {n_y}, {n_h}, depth={depth}, act=Sigmoid())"
        with side.replaced(NeuralNetwork, initialize_dnn_parameters=initialize):
            network = cl.run(6, what, NeuralNetwork, n_x, n_y, n_h, depth, act)
        calls = side.calls(initialize)
        if len(calls) != 1:
            cl.fail(6, f"{what} called initialize_dnn_parameters {len(calls)} times; expected once.", store_hint)
        received_dims = cl.arguments_of(6, "initialize_dnn_parameters", lambda layer_dims: None,
                                        calls[0])["layer_dims"]
        if not isinstance(received_dims, (list, tuple)) or list(received_dims) != layer_dims:
            cl.fail(6, f"{what} passed layer_dims {received_dims!r:.200} to initialize_dnn_parameters; "
                       f"expected {layer_dims}.", "initialize with the layer_dims list built in initialize().")
        received = cl.attribute_data(side, network, "parameters")
        cl.check_keys(6, f"network.parameters for depth {depth}", received, expected, store_hint)
        for key in expected:
            cl.check_array(6, f"network.parameters['{key}'] (n_x={n_x}, n_y={n_y}, n_h={n_h}, depth={depth})",
                           received[key], expected[key], "initialize with the layer_dims list built in initialize().")


def bare_network(side, NeuralNetwork, n_x, n_y, n_h, depth, **attributes):
    """A NeuralNetwork in the student's process whose attributes are set directly, without running
    its __init__, so that one method is tested on its own."""
    return side.new(NeuralNetwork, n_x=n_x, n_y=n_y, n_h=n_h, depth=depth, **attributes)


def test_network_backward(NeuralNetwork, ref):
    side = cl.student_side(NeuralNetwork)
    call_hint = "self.grads = back_propagation(Y, self.parameters, self.caches, self.act.derivative)"
    for seed, (n_x, n_y, n_h, depth), act_name in ((64, (4, 2, 3, 3), "Sigmoid"), (65, (3, 1, 4, 2), "ReLU")):
        seed = cl.variant(seed)
        act = getattr(ref, act_name)()
        rs = np.random.RandomState(seed)
        X, Y = rs.randn(n_x, 5), rs.randn(n_y, 5)
        parameters = random_network(seed, [n_x] + [n_h] * (depth - 1) + [n_y])
        _, caches = ref.forward_propagation(X, parameters, act)
        expected = ref.back_propagation(Y, parameters, caches, act.derivative)
        stand_in_act = activation(side, 6, hint=call_hint)
        live_parameters, live_caches = side.put(cl.float_copies(parameters)), side.put(cl.float_copies(caches))
        network = bare_network(side, NeuralNetwork, n_x, n_y, n_h, depth, act=stand_in_act,
                               parameters=live_parameters, caches=live_caches)
        back_propagation = side.spy(returns=cl.float_copies(expected))
        with side.replaced(NeuralNetwork, back_propagation=back_propagation):
            cl.run(6, "network.backward(Y)", network.backward, Y)
        calls = side.calls(back_propagation)
        if len(calls) != 1:
            cl.fail(6, f"backward() called back_propagation {len(calls)} times; expected once.", call_hint)
        arguments = cl.arguments_of(6, "back_propagation",
                                    lambda Y, parameters, caches, act_derivative=None: None, calls[0])
        if (not cl.same(arguments["Y"], Y) or not side.same(arguments["parameters"], live_parameters)
                or not side.same(arguments["caches"], live_caches)):
            cl.fail(6, "back_propagation should receive Y, self.parameters and self.caches.", call_hint)
        derivative = arguments.get("act_derivative")
        if derivative is None or not side.same(derivative, stand_in_act.derivative):
            cl.fail(6, f"back_propagation did not receive the network's activation derivative "
                       f"({act_name} network).",
                    "pass self.act.derivative to back_propagation; without it the ReLU default is used.")
        received = cl.attribute_data(side, network, "grads")
        cl.check_keys(6, f"network.grads ({act_name} network)", received, expected, call_hint)
        for key in expected:
            cl.check_array(6, f"network.grads['{key}'] ({act_name} network)", received[key], expected[key],
                           "store what back_propagation returns in self.grads.")


# --- Exercise 7 and 8 -------------------------------------------------------------------------

def gradients_like(parameters, seed):
    rs = np.random.RandomState(seed)
    return {"d" + key: rs.randn(*value.shape) for key, value in parameters.items()}


def test_gradient_descent_step(gradient_descent_step, ref):
    side = cl.student_side(gradient_descent_step)
    for seed, layer_dims, learning_rate in ((71, [4, 3, 5, 2], 0.37), (72, [2, 1], 1.5)):
        seed = cl.variant(seed)
        parameters = random_network(seed, layer_dims)
        grads = gradients_like(parameters, seed + 1)
        expected = cl.float_copies(parameters)
        ref.gradient_descent_step(expected, grads, learning_rate)
        live_parameters, live_grads = side.put(cl.float_copies(parameters)), side.put(cl.float_copies(grads))
        cl.run(7, f"gradient_descent_step(parameters, grads, {learning_rate})",
               gradient_descent_step, live_parameters, live_grads, learning_rate)
        received = side.fetch(live_parameters)
        for key in expected:
            cl.check_array(7, f"parameters['{key}'] after one step (learning_rate={learning_rate})",
                           received.get(key), expected[key],
                           "W = W - learning_rate * dW for every layer, stored back into parameters.")
        cl.check_unchanged(7, "gradient_descent_step changed grads", side.fetch(live_grads), grads,
                           "only parameters change.")


def test_gradient_descent(GradientDescent, ref):
    side = cl.student_side(GradientDescent)
    call_hint = ("step() calls gradient_descent_step(self.network.parameters, self.network.grads, "
                 "self.learning_rate).")
    parameters = random_network(cl.variant(81), [3, 4, 2])
    grads = gradients_like(parameters, cl.variant(82))
    network = pt.stand_in_network(side, parameters, grads, by_identity=True)
    live_parameters, live_grads = network.parameters, network.grads
    optimizer = cl.run(8, "GradientDescent(network, learning_rate=0.05)", GradientDescent, network, 0.05)
    expected = cl.float_copies(parameters)
    for step in (1, 2):
        ref.gradient_descent_step(expected, grads, 0.05)
        gradient_descent_step = side.spy(update=cl.float_copies(expected), into="parameters")
        with side.replaced(GradientDescent, gradient_descent_step=gradient_descent_step):
            cl.run(8, f"step {step} of optimizer.step()", optimizer.step)
        calls = side.calls(gradient_descent_step)
        if len(calls) != 1:
            cl.fail(8, f"step {step} of optimizer.step() called gradient_descent_step {len(calls)} times; "
                       "expected once.", call_hint)
        arguments = cl.arguments_of(8, "gradient_descent_step",
                                    lambda parameters, grads, learning_rate: None, calls[0])
        if (not side.same(arguments["parameters"], live_parameters) or not side.same(arguments["grads"], live_grads)
                or not cl.same(arguments["learning_rate"], 0.05)):
            cl.fail(8, "gradient_descent_step should receive self.network.parameters, self.network.grads "
                       "and self.learning_rate.", call_hint)
        received = side.fetch(network.parameters)
        for key in expected:
            cl.check_array(8, f"network.parameters['{key}'] after step {step}", received.get(key),
                           expected[key], call_hint)


# --- Exercises 9 to 11 ------------------------------------------------------------------------

class Forgetful:
    """Wraps an optimizer class so that its state is reset before every step."""

    def __init__(self, optimizer_class):
        self.optimizer_class = optimizer_class

    def __call__(self, network, **settings):
        optimizer = self.optimizer_class(network, **settings)
        step = optimizer.step

        def forgetful_step():
            for name in ("velocities", "squared_gradients"):
                if hasattr(optimizer, name):
                    getattr(optimizer, name).clear()
            step()
        optimizer.step = forgetful_step
        return optimizer


def momentum_mistakes(ref):
    """Known wrong momentum optimizers, as subclasses of the reference's."""
    class MomentumNoDamping(ref.GradientDescentWithMomentum):
        def step(self):
            for key, param in self.network.parameters.items():
                v = self.beta * self.velocities.get(key, 0) + self.network.grads["d" + key]
                self.velocities[key] = v
                self.network.parameters[key] = param - self.learning_rate * v

    return types.SimpleNamespace(no_damping=MomentumNoDamping, forgetful=Forgetful(ref.GradientDescentWithMomentum))


def rmsprop_mistakes(ref):
    """Known wrong RMSProp optimizers, as subclasses of the reference's."""
    class RMSPropEpsilonInside(ref.RMSProp):
        def step(self):
            for key, param in self.network.parameters.items():
                grad = self.network.grads["d" + key]
                s = self.beta * self.squared_gradients.get(key, 0) + (1 - self.beta) * grad**2
                self.squared_gradients[key] = s
                self.network.parameters[key] = param - self.learning_rate * grad / np.sqrt(s + self.epsilon)

    return types.SimpleNamespace(epsilon_inside=RMSPropEpsilonInside, forgetful=Forgetful(ref.RMSProp))


def adam_mistakes(ref):
    """Known wrong Adam optimizers, as subclasses of the reference's."""
    class AdamVariant(ref.Adam):
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

    class AdamBiasCorrected(AdamVariant):
        bias_corrected = True

    class AdamEpsilonInside(AdamVariant):
        epsilon_inside = True

    return types.SimpleNamespace(bias_corrected=AdamBiasCorrected, epsilon_inside=AdamEpsilonInside,
                                 forgetful=Forgetful(ref.Adam))


def optimizer_problem(seed, steps, layer_dims=(3, 4, 2)):
    """Parameters, the network's first gradients, and new gradients for each of ``steps`` steps."""
    parameters = random_network(seed, list(layer_dims))
    later = [gradients_like(parameters, seed + 1 + step) for step in range(steps)]
    return parameters, gradients_like(parameters, seed), later


def reference_trajectory(make_optimizer, settings, problem):
    """Parameters after each step of a fresh grader-side optimizer on a grader-side network."""
    parameters, first, later = problem
    network = types.SimpleNamespace(parameters=cl.float_copies(parameters), grads=cl.float_copies(first))
    optimizer = make_optimizer(network, **settings)
    snapshots = []
    for grads in later:
        network.grads = cl.float_copies(grads)
        optimizer.step()
        snapshots.append(cl.float_copies(network.parameters))
    return snapshots


def student_trajectory(exercise, name, label, optimizer_class, settings, problem):
    """Parameters after each step of a fresh student optimizer on a stand-in network in its process."""
    side = cl.student_side(optimizer_class)
    parameters, first, later = problem
    network = pt.stand_in_network(side, parameters, first)
    optimizer = cl.run(exercise, f"{name}(network, {label})", optimizer_class, network, **settings)
    snapshots, step_method = [], cl.run(exercise, f"{name}(...).step", getattr, optimizer, "step")
    for step, grads in enumerate(later, start=1):
        network.grads = cl.float_copies(grads)
        cl.run(exercise, f"step {step} of a fresh {name}({label})", step_method)
        snapshots.append(copy.deepcopy(side.fetch(network.parameters)))
    return snapshots


def check_optimizer(exercise, name, student_class, reference_class, settings, mistakes, rule, steps=3, seed=91):
    """Three steps of a fresh optimizer with new gradients at each step, against the reference."""
    label = ", ".join(f"{key}={value}" for key, value in settings.items())
    problem = optimizer_problem(cl.variant(seed), steps)
    expected = reference_trajectory(reference_class, settings, problem)
    received = student_trajectory(exercise, name, label, student_class, settings, problem)
    variants = {}

    def hint(step, key, got):  # the known mistakes are run only for a student whose answer is wrong
        if not variants:
            variants.update({h: reference_trajectory(v, settings, problem) for h, v in mistakes.items()})
        return cl.hint_for(got, {h: v[step - 1][key] for h, v in variants.items()}, rule)

    for step, (got, want) in enumerate(zip(received, expected), start=1):
        what = f"after step {step} of a fresh {name}({label})"
        cl.check_keys(exercise, f"network.parameters {what}", got, want,
                      "update the entries of self.network.parameters; do not add or remove any.")
        for key in want:
            try:
                cl.check_array(exercise, f"parameter {key} {what}", got[key], want[key])
            except AssertionError:
                cl.check_array(exercise, f"parameter {key} {what}", got[key], want[key], hint(step, key, got[key]))


def test_momentum(GradientDescentWithMomentum, ref):
    wrong = momentum_mistakes(ref)
    mistakes = {MOMENTUM_NO_DAMPING: wrong.no_damping,
                MOMENTUM_FORGETS: wrong.forgetful}
    rule = "v = beta * v + (1 - beta) * grad, then param = param - learning_rate * v."
    check_optimizer(9, "GradientDescentWithMomentum", GradientDescentWithMomentum, ref.GradientDescentWithMomentum,
                    {"learning_rate": 0.3, "beta": 0.7}, mistakes, rule)
    check_optimizer(9, "GradientDescentWithMomentum", GradientDescentWithMomentum, ref.GradientDescentWithMomentum,
                    {"learning_rate": 0.05}, mistakes, rule, seed=92)


def test_rmsprop(RMSProp, ref):
    wrong = rmsprop_mistakes(ref)
    mistakes = {RMSPROP_EPSILON_INSIDE: wrong.epsilon_inside,
                RMSPROP_FORGETS: wrong.forgetful}
    rule = "s = beta * s + (1 - beta) * grad**2, then param = param - learning_rate * grad / (np.sqrt(s) + epsilon)."
    check_optimizer(10, "RMSProp", RMSProp, ref.RMSProp,
                    {"learning_rate": 0.2, "beta": 0.6, "epsilon": 0.5}, mistakes, rule)
    check_optimizer(10, "RMSProp", RMSProp, ref.RMSProp, {"learning_rate": 0.01}, mistakes, rule, seed=93)


def test_adam(Adam, ref):
    wrong = adam_mistakes(ref)
    mistakes = {ADAM_BIAS_CORRECTED: wrong.bias_corrected,
                ADAM_EPSILON_INSIDE: wrong.epsilon_inside,
                ADAM_FORGETS:
                    wrong.forgetful}
    rule = ("v = beta1 * v + (1 - beta1) * grad, s = beta2 * s + (1 - beta2) * grad**2, then "
            "param = param - learning_rate * v / (np.sqrt(s) + epsilon).")
    check_optimizer(11, "Adam", Adam, ref.Adam,
                    {"learning_rate": 0.2, "beta1": 0.7, "beta2": 0.85, "epsilon": 0.3}, mistakes, rule)
    check_optimizer(11, "Adam", Adam, ref.Adam, {"learning_rate": 0.01}, mistakes, rule, seed=94)
