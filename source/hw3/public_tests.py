"""Public tests for Homework 3: Optimization in Neural Networks.

Each ``test_*`` function takes the thing it tests (a function or a class) as its argument, checks it
against the numbers printed in the homework text, and raises an ``AssertionError`` that names the
exercise, the quantity, the expected and received values, and a hint. Every test builds its own
inputs and, where the exercise relies on an earlier one, uses stand-ins that replay recorded results,
so each exercise is tested on its own: a mistake in ``layer`` does not fail the test of
``forward_propagation``. No test here contains the solution of an exercise.

A test reaches your code only through its *side* (``student_side``, from ``checklib.py`` beside this
file, the course's check library): in your notebook, this very process. The grader runs the same tests
with your code in a separate process, through a side with the same methods, so that you read the same
messages in both places.

The grader runs these tests and more (other sizes, seeds and settings) that you do not see.
"""
import numpy as np

from checklib import (attribute, bind, check_array, check_keys, fail, float_copies, passed, run, same,
                      same_argument, student_side)

# ---------------------------------------------------------------------------------------------
# Stand-ins for this homework's functions
# ---------------------------------------------------------------------------------------------


def replay(side, exercise, name, calls, parameters=None):
    """A stand-in for the function ``name``, on ``side``, that answers the recorded calls only."""
    return side.replay(exercise, name, calls, hint=f"check what you pass to {name}: the inputs of every call "
                                                   "must be the ones the formulas give.", parameters=parameters)


def replay_activation(side, exercise, forward_calls=(), derivative_calls=()):
    """An activation, on ``side``, whose ``forward`` (also its call) and ``derivative`` replay
    recorded values."""
    return side.namespace(call="forward", forward=replay(side, exercise, "act", forward_calls),
                          derivative=replay(side, exercise, "act_derivative", derivative_calls))


def stand_in_network(side, parameters, grads, by_identity=False):
    """What an optimizer needs of a network, on ``side``: ``parameters`` and ``grads`` dicts (float
    copies), read back with ``side.fetch(network.parameters)``. With ``by_identity`` both are ``put``
    first, so that a test can check that these very dicts reach a function (``side.same``)."""
    if by_identity:
        return side.namespace(parameters=side.put(float_copies(parameters)), grads=side.put(float_copies(grads)))
    return side.namespace(parameters=float_copies(parameters), grads=float_copies(grads))


LAYER_PARAMETERS = ("A_prev", "W", "b", "act")  # layer()'s arguments, as the notebook defines it


# ---------------------------------------------------------------------------------------------
# The homework's printed numbers (with np.random.seed(1) at the top of the notebook)
# ---------------------------------------------------------------------------------------------

def seed_inputs():
    """Re-draw the notebook's inputs from np.random.seed(1) in the notebook's order, with a private
    generator: 4x5 and 3x4 weights, then x (10), then X (5x5) and Y (3x5)."""
    rs = np.random.RandomState(1)
    weights_1 = rs.randn(4, 5) * np.sqrt(1 / 5)
    weights_2 = rs.randn(3, 4) * np.sqrt(1 / 4)
    x = rs.randn(10)
    X = rs.randn(5, 5)
    Y = rs.randn(3, 5)
    parameters = {"W1": weights_1, "b1": np.zeros((4, 1)), "W2": weights_2, "b2": np.zeros((3, 1))}
    return parameters, x, X, Y


SEED = {
    "init_W1": np.array(
    [[ 0.72642933, -0.27358579, -0.23620559, -0.47984616,  0.38702206],
     [-1.0292794 ,  0.78030354, -0.34042208,  0.14267862, -0.11152182],
     [ 0.65387455, -0.92132293, -0.14418936, -0.17175433,  0.50703711],
     [-0.49188633, -0.07711224, -0.39259022,  0.01887856,  0.26064289]]),
    "init_W2": np.array(
    [[-0.55030959,  0.57236185,  0.45079536,  0.25124717],
     [ 0.45042797, -0.34186393, -0.06144511, -0.46788472],
     [-0.13394404,  0.26517773, -0.34583038, -0.19837676]]),
    "x": np.array(
    [-0.6871727 , -0.84520564, -0.67124613, -0.0126646 , -1.11731035,  0.2344157 ,  1.65980218,  0.74204416,
     -0.19183555, -0.88762896]),
    "relu_x": np.array(
    [0.        , 0.        , 0.        , 0.        , 0.        , 0.2344157 , 1.65980218, 0.74204416, 0.        ,
     0.        ]),
    "relu_prime_x": np.array(
    [0., 0., 0., 0., 0., 1., 1., 1., 0., 0.]),
    "Z1": np.array(
    [[-1.09575907,  1.0266851 , -0.31827206, -0.3506713 , -0.12633385],
     [ 2.87245507, -1.45533316,  0.57223289,  0.59096241, -0.70441952],
     [-2.15866841,  0.8461243 , -0.40963115, -0.68640041,  0.68699072],
     [ 0.80537242, -0.77691677,  0.15346325,  0.02594094, -0.07751913]]),
    "A1": np.array(
    [[0.        , 1.0266851 , 0.        , 0.        , 0.        ],
     [2.87245507, 0.        , 0.57223289, 0.59096241, 0.        ],
     [0.        , 0.8461243 , 0.        , 0.        , 0.68699072],
     [0.80537242, 0.        , 0.15346325, 0.02594094, 0.        ]]),
    "Z2": np.array(
    [[ 1.84643125, -0.18356575,  0.36608149,  0.34476193,  0.30969223],
     [-1.35881023,  0.41045749, -0.2674289 , -0.2141661 , -0.04221222],
     [ 0.60194395, -0.43013384,  0.12129988,  0.15156399, -0.23758226]]),
    "dW1": np.array(
    [[-0.07100506, -0.00504114,  0.01465629, -0.0119815 ,  0.01250615],
     [-0.1535268 ,  0.2243261 ,  0.06768908,  0.00272228,  0.07802137],
     [ 0.02370006, -0.02516877,  0.05958518,  0.09359966,  0.0813598 ],
     [-0.06098153,  0.1461884 , -0.00877939,  0.06790589,  0.06303178]]),
    "db1": np.array(
    [[-0.04195389],
     [ 0.41779308],
     [ 0.07912688],
     [ 0.21442471]]),
    "dW2": np.array(
    [[ 0.        ,  0.60078972,  0.11186381,  0.11598846],
     [-0.0956278 ,  0.        , -0.07880995,  0.        ],
     [ 0.        , -0.15898858,  0.        , -0.05413308]]),
    "db2": np.array(
    [[ 0.93844522],
     [-0.09314229],
     [-0.09856997]]),
    "net_W1": np.array(
    [[ 0.08343279,  0.18338067,  0.08868233,  0.05322228, -0.29992929],
     [ 0.16885166,  0.05448013,  0.50512056,  0.53617238,  0.08280447],
     [-0.16783253, -0.28564892,  0.18939243,  0.03458753, -0.15377604],
     [ 0.01949711, -0.27727281,  0.31216942, -0.19996197,  0.54761649]]),
    "net_W2": np.array(
    [[ 0.20174582,  0.29678926, -0.54745592,  0.08469122],
     [ 0.37027823, -0.4768503 , -0.13310925,  0.01630727],
     [-0.68655866,  0.1575797 ,  0.42308032, -0.42975797],
     [ 0.17527299, -0.65614171, -0.01934775, -0.80788618]]),
    "net_W3": np.array(
    [[ 0.56070885,  0.20445027, -0.01230848, -0.38758081],
     [ 0.63687797,  0.98355087, -0.92899093,  0.61808202],
     [ 0.81382538,  0.16900585, -0.59963402,  0.43167266]]),
    "net_dW1": np.array(
    [[-0.00819391,  0.00434696,  0.01032395, -0.00024787,  0.00653069],
     [ 0.00220476, -0.00447719, -0.00122303,  0.00096706, -0.00096016],
     [ 0.00773704, -0.00218865, -0.01071998, -0.00014516, -0.00656312],
     [-0.0032138 , -0.00055366,  0.00339891,  0.00027155,  0.00214983]]),
    "net_db1": np.array(
    [[ 0.01889197],
     [-0.00765741],
     [-0.0164768 ],
     [ 0.00279429]]),
    "net_dW2": np.array(
    [[ 0.02987019,  0.03644857,  0.03402445,  0.03874588],
     [ 0.02737154,  0.03083942,  0.02911464,  0.03225519],
     [-0.02720202, -0.03051821, -0.02837608, -0.03141728],
     [ 0.01224843,  0.0119922 ,  0.01098373,  0.01152867]]),
    "net_db2": np.array(
    [[ 0.0630978 ],
     [ 0.05643017],
     [-0.05552861],
     [ 0.02358812]]),
    "net_dW3": np.array(
    [[0.06034881, 0.053968  , 0.05274028, 0.03386175],
     [0.09777237, 0.09016585, 0.08312728, 0.0634621 ],
     [0.03890758, 0.03489111, 0.03297021, 0.02320944]]),
    "net_db3": np.array(
    [[0.1204913 ],
     [0.19279404],
     [0.07642293]]),
    "step_W1": np.array(
    [[ 0.08351473,  0.1833372 ,  0.08857909,  0.05322476, -0.2999946 ],
     [ 0.16882961,  0.0545249 ,  0.50513279,  0.53616271,  0.08281407],
     [-0.1679099 , -0.28562704,  0.18949963,  0.03458898, -0.15371041],
     [ 0.01952925, -0.27726727,  0.31213543, -0.19996469,  0.547595  ]]),
    "step_b1": np.array(
    [[-1.88919658e-04],
     [ 7.65740929e-05],
     [ 1.64767984e-04],
     [-2.79428845e-05]]),
    "step_W2": np.array(
    [[ 0.20144712,  0.29642478, -0.54779617,  0.08430376],
     [ 0.37000451, -0.4771587 , -0.1334004 ,  0.01598472],
     [-0.68628664,  0.15788488,  0.42336408, -0.4294438 ],
     [ 0.17515051, -0.65626163, -0.01945759, -0.80800146]]),
    "step_b2": np.array(
    [[-0.00063098],
     [-0.0005643 ],
     [ 0.00055529],
     [-0.00023588]]),
    "step_W3": np.array(
    [[ 0.56010537,  0.20391059, -0.01283588, -0.38791943],
     [ 0.63590024,  0.98264922, -0.92982221,  0.61744739],
     [ 0.8134363 ,  0.16865694, -0.59996372,  0.43144056]]),
    "step_b3": np.array(
    [[-0.00120491],
     [-0.00192794],
     [-0.00076423]]),
}

SEED["A2"] = np.maximum(SEED["Z2"], 0)  # the network's output: ReLU of Z2 (not printed in the text)

# Two optimizer steps from a fresh optimizer on a small stand-in network (computed with the formulas
# stated in the notebook; learning_rate=0.1, beta=0.8 / beta1=0.8, beta2=0.9, epsilon=1e-8).
OPTIMIZER_EXPECTED = {
    "momentum": {"W1": np.array([[1.8011131265, 0.4846192459, 0.1241492505],
                                 [-1.8733177565, -0.2854147215, -0.4121906116]]),
                 "b1": np.array([[-0.1142656597], [-0.6171666152]])},
    "rmsprop": {"W1": np.array([[2.2352667591, 0.8756639906, 0.1766903083],
                                [-1.9055146771, -0.31481565, -0.5485608398]]),
                "b1": np.array([[-0.5298536643], [-0.5257820188]])},
    "adam": {"W1": np.array([[1.9189901213, 0.5754378037, 0.1624817911],
                             [-1.9087677859, -0.3197020428, -0.4629583728]]),
             "b1": np.array([[-0.2109028576], [-0.5515517992]])},
}


def optimizer_problem():
    """Parameters and two successive gradients of the stand-in network for the optimizer tests."""
    rs = np.random.RandomState(3)
    parameters = {"W1": rs.randn(2, 3), "b1": rs.randn(2, 1)}
    first = {"dW1": rs.randn(2, 3), "db1": rs.randn(2, 1)}
    second = {"dW1": rs.randn(2, 3), "db1": rs.randn(2, 1)}
    return parameters, first, second


def sigmoid_network():
    """The 3-layer Sigmoid network of section 1.6 and its gradients, as printed in the text (copies:
    code under test may change them in place)."""
    parameters = {f"W{l}": SEED[f"net_W{l}"].copy() for l in (1, 2, 3)}
    parameters.update({f"b{l}": np.zeros((SEED[f"net_W{l}"].shape[0], 1)) for l in (1, 2, 3)})
    grads = {f"d{kind}{l}": SEED[f"net_d{kind}{l}"].copy() for l in (1, 2, 3) for kind in "Wb"}
    return parameters, grads


# ---------------------------------------------------------------------------------------------
# The public tests, one per exercise (two for ReLU and for NeuralNetwork)
# ---------------------------------------------------------------------------------------------

def test_initialize_dnn_parameters(initialize_dnn_parameters):
    side = student_side(initialize_dnn_parameters)
    with side.seeded(1):
        parameters = side.fetch(run(1, "initialize_dnn_parameters([5, 4, 3])", initialize_dnn_parameters, [5, 4, 3]))
    check_keys(1, "parameters", parameters, ["W1", "b1", "W2", "b2"],
               "one W and one b per layer after the input: keys 'W1', 'b1', ..., 'W' + str(L-1), 'b' + str(L-1).")
    hint = ("W_l = np.sqrt(1 / layer_dims[l-1]) * np.random.randn(layer_dims[l], layer_dims[l-1]); "
            "draw W1 before W2 and draw nothing else.")
    check_array(1, "parameters['W1']", parameters["W1"], SEED["init_W1"], hint)
    check_array(1, "parameters['W2']", parameters["W2"], SEED["init_W2"], hint)
    for name, rows in (("b1", 4), ("b2", 3)):
        check_array(1, f"parameters['{name}']", parameters[name], np.zeros((rows, 1)),
                    "biases are column vectors of zeros: np.zeros((layer_dims[l], 1)).")
    passed(1)


def test_relu_forward(ReLU):
    side = student_side(ReLU)
    x = seed_inputs()[1]
    relu = run(2, "ReLU()", ReLU)
    received = side.fetch(run(2, "ReLU().forward(x)", relu, x.copy()))
    check_array(2, "ReLU()(x)", received, SEED["relu_x"],
                "ReLU keeps positive entries and sets negative ones to 0: np.maximum(0, x).")
    matrix = np.array([[-2.0, 0.0, 3.5], [1e-3, -1e-3, 7.0]])
    received = side.fetch(run(2, "ReLU().forward(matrix)", relu, matrix.copy()))
    check_array(2, "ReLU()(matrix)", received, [[0.0, 0.0, 3.5], [1e-3, 0.0, 7.0]],
                "forward must work element-wise on arrays of any shape.")
    passed("2 (forward)")


def test_relu_derivative(ReLU):
    side = student_side(ReLU)
    x = seed_inputs()[1]
    relu = run(2, "ReLU()", ReLU)
    received = side.fetch(run(2, "ReLU().derivative(x)", relu.derivative, x.copy()))
    check_array(2, "ReLU().derivative(x)", received, SEED["relu_prime_x"],
                "the derivative is 1 where x >= 0 and 0 where x < 0.")
    matrix = np.array([[-2.0, 0.0, 3.5], [1e-3, -1e-3, 7.0]])
    received = side.fetch(run(2, "ReLU().derivative(matrix)", relu.derivative, matrix.copy()))
    check_array(2, "ReLU().derivative(matrix)", received, [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]],
                "ReLU'(0) must be 1 in this homework: use x >= 0, not x > 0." if same(received, matrix > 0)
                else "in this homework ReLU'(0) = 1 (the condition is x >= 0, not x > 0).")
    passed("2 (derivative)")


def test_layer(layer):
    side = student_side(layer)
    parameters, _, X, _ = seed_inputs()
    act = replay_activation(side, 3, forward_calls=[((SEED["Z1"],), SEED["A1"])])
    result = side.fetch(run(3, "layer(X, W1, b1, act)", layer, X, parameters["W1"], parameters["b1"], act))
    if not isinstance(result, tuple) or len(result) != 2:
        fail(3, f"layer should return the pair (A, Z); received {type(result).__name__}.")
    A, Z = result
    check_array(3, "Z", Z, SEED["Z1"], "Z = W @ A_prev + b (a matrix product, then add the bias column).")
    check_array(3, "A", A, SEED["A1"], "A = act(Z): use the activation passed as `act`, not ReLU() directly.")
    passed(3)


def test_forward_propagation(forward_propagation):
    side = student_side(forward_propagation)
    parameters, _, X, _ = seed_inputs()
    act = replay_activation(side, 4, forward_calls=[((SEED["Z1"],), SEED["A1"]), ((SEED["Z2"],), SEED["A2"])])
    layer = replay(side, 4, "layer", [
        ((X, parameters["W1"], parameters["b1"], act), (SEED["A1"], SEED["Z1"])),
        ((SEED["A1"], parameters["W2"], parameters["b2"], act), (SEED["A2"], SEED["Z2"])),
    ], parameters=LAYER_PARAMETERS)
    with side.replaced(forward_propagation, layer=layer):
        result = side.fetch(run(4, "forward_propagation(X, parameters, act)", forward_propagation, X, parameters, act))
    if not isinstance(result, tuple) or len(result) != 2:
        fail(4, f"forward_propagation should return (A, caches); received {type(result).__name__}.")
    A, caches = result
    check_keys(4, "caches", caches, ["A0", "Z1", "A1", "Z2", "A2"],
               "cache 'A0' = X, and 'Z' + str(l), 'A' + str(l) for every layer l = 1..L.")
    for key in ("Z1", "A1", "Z2", "A2"):
        check_array(4, f"caches['{key}']", caches[key], SEED[key],
                    "call layer(A_prev, W, b, act) with the activation passed in, layer after layer.")
    check_array(4, "caches['A0']", caches["A0"], X)
    check_array(4, "the returned A", A, SEED["A2"], "return the output of the last layer.")
    passed(4)


def test_back_propagation(back_propagation):
    side = student_side(back_propagation)
    parameters, _, X, Y = seed_inputs()
    caches = {"A0": X, **{key: SEED[key].copy() for key in ("Z1", "A1", "Z2", "A2")}}
    act = replay_activation(side, 5, derivative_calls=[((SEED["Z2"],), (SEED["Z2"] >= 0).astype(float)),
                                                       ((SEED["Z1"],), (SEED["Z1"] >= 0).astype(float))])
    grads = side.fetch(run(5, "back_propagation(Y, parameters, caches, act_derivative)",
                           back_propagation, Y, parameters, caches, act.derivative))
    check_keys(5, "grads", grads, ["dW1", "db1", "dW2", "db2"])
    hints = {"dW": "dW = dZ @ A_prev.T, with A_prev = caches['A' + str(l-1)].",
             "db": "db = np.sum(dZ, axis=1, keepdims=True): a sum over the samples (not a mean), "
                   "kept as a column of shape (n, 1)."}
    mean = "db is a sum over the samples, not a mean: the 1/m is already in dZ."
    for l in (2, 1):
        check_array(5, f"grads['dW{l}']", grads[f"dW{l}"], SEED[f"dW{l}"], hints["dW"])
        check_array(5, f"grads['db{l}']", grads[f"db{l}"], SEED[f"db{l}"],
                    mean if same(grads[f"db{l}"], SEED[f"db{l}"] / Y.shape[1]) else hints["db"])
    passed(5)


def test_network_initialize(NeuralNetwork):
    side = student_side(NeuralNetwork)
    parameters = side.put({"W1": np.ones((4, 5)), "b1": np.zeros((4, 1))})
    initialize = side.spy(returns=parameters)
    with side.replaced(NeuralNetwork, initialize_dnn_parameters=initialize):
        network = run(6, "NeuralNetwork(5, 3, 4, depth=3, act=...)", NeuralNetwork, 5, 3, 4, 3,
                      replay_activation(side, 6))
    calls = side.calls(initialize)
    if len(calls) != 1:
        fail(6, f"initialize() called initialize_dnn_parameters {len(calls)} times; expected once.",
             "self.parameters = initialize_dnn_parameters(layer_dims)")
    layer_dims = side.fetch(bind(lambda layer_dims: None, *calls[0])["layer_dims"])
    if list(layer_dims) != [5, 4, 4, 3]:
        fail(6, f"initialize_dnn_parameters received layer_dims {list(layer_dims)}; expected [5, 4, 4, 3].",
             "pass the layer_dims list that initialize() builds.")
    if not side.same(attribute(network, "parameters"), parameters):
        fail(6, "network.parameters is not the dict that initialize_dnn_parameters returned.",
             "store the result: self.parameters = initialize_dnn_parameters(layer_dims)")
    passed("6 (initialize)")


def bare_network(NeuralNetwork, n_x, n_y, n_h, depth, act, parameters):
    """A NeuralNetwork whose attributes are set directly, without running its initialize(), so that
    backward() is tested on its own."""
    return student_side(NeuralNetwork).new(NeuralNetwork, n_x=n_x, n_y=n_y, n_h=n_h, depth=depth, act=act,
                                           parameters=parameters)


def test_network_backward(NeuralNetwork):
    side = student_side(NeuralNetwork)
    Y = side.put(seed_inputs()[3])
    parameters, caches, grads = (side.put(value) for value in
                                 ({"W1": np.ones((3, 5))}, {"A0": np.ones((5, 5))}, {"dW1": np.ones((3, 5))}))
    back_propagation = side.spy(returns=grads)
    network = bare_network(NeuralNetwork, 5, 3, 4, 1, replay_activation(side, 6), parameters)
    network.caches = caches
    with side.replaced(NeuralNetwork, back_propagation=back_propagation):
        run(6, "network.backward(Y)", network.backward, Y)
    calls = side.calls(back_propagation)
    if len(calls) != 1:
        fail(6, f"backward() called back_propagation {len(calls)} times; expected once.")
    arguments = bind(lambda Y, parameters, caches, act_derivative=None: None, *calls[0])
    if not all(side.same(arguments[name], value) for name, value in
               (("Y", Y), ("parameters", parameters), ("caches", caches))):
        fail(6, "back_propagation should receive Y, self.parameters and self.caches.")
    if not side.same(arguments.get("act_derivative"), network.act.derivative):
        fail(6, "back_propagation did not receive the network's activation derivative.",
             "pass self.act.derivative; otherwise the default (ReLU) is used even for a Sigmoid network.")
    if not side.same(attribute(network, "grads"), grads):
        fail(6, "network.grads is not the dict that back_propagation returned.", "store it in self.grads.")
    passed("6 (backward)")


def test_gradient_descent_step(gradient_descent_step):
    side = student_side(gradient_descent_step)
    parameters, grads = sigmoid_network()
    shared = side.put(parameters)
    run(7, "gradient_descent_step(parameters, grads, 0.01)", gradient_descent_step, shared, grads, 0.01)
    parameters = side.fetch(shared)
    for key in ("W1", "b1", "W2", "b2", "W3", "b3"):
        check_array(7, f"parameters['{key}'] after one step", parameters[key], SEED[f"step_{key}"],
                    "W = W - learning_rate * dW, and store the result back into parameters.")
    passed(7)


def test_gradient_descent(GradientDescent):
    side = student_side(GradientDescent)
    parameters, grads = sigmoid_network()
    network = stand_in_network(side, parameters, grads, by_identity=True)
    shared = network.parameters, network.grads
    step = side.spy(update={key: SEED[f"step_{key}"] for key in parameters}, into="parameters")  # what a right step leaves
    optimizer = run(8, "GradientDescent(network, learning_rate=0.01)", GradientDescent, network, 0.01)
    with side.replaced(GradientDescent, gradient_descent_step=step):
        run(8, "optimizer.step()", optimizer.step)
    if not all(_steps_network(side, call, *shared, 0.01) for call in side.calls(step)):
        fail(8, "gradient_descent_step should receive self.network.parameters, self.network.grads "
                "and self.learning_rate.")
    parameters = side.fetch(network.parameters)
    for key in ("W1", "b1", "W2", "b2", "W3", "b3"):
        check_array(8, f"network.parameters['{key}'] after step()", parameters[key], SEED[f"step_{key}"],
                    "step() applies gradient_descent_step to the network's parameters and gradients.")
    passed(8)


def _steps_network(side, call, parameters, grads, learning_rate):
    """Whether a recorded call of gradient_descent_step received these parameters and grads (the
    very dicts) and this learning rate."""
    try:
        arguments = bind(lambda parameters, grads, learning_rate: None, *call)
    except TypeError:
        return False
    return (side.same(arguments["parameters"], parameters) and side.same(arguments["grads"], grads)
            and same_argument(arguments["learning_rate"], learning_rate))


def _two_steps(exercise, name, optimizer_class, **settings):
    """The stand-in network's parameters (fetched) after two steps of a fresh optimizer."""
    side = student_side(optimizer_class)
    parameters, first, second = optimizer_problem()
    network = stand_in_network(side, parameters, first)
    optimizer = run(exercise, f"{name}(network, ...)", optimizer_class, network, **settings)
    run(exercise, "the first optimizer.step()", optimizer.step)
    network.grads = float_copies(second)
    run(exercise, "the second optimizer.step()", optimizer.step)
    return side.fetch(network.parameters)


def test_momentum(GradientDescentWithMomentum):
    parameters = _two_steps(9, "GradientDescentWithMomentum", GradientDescentWithMomentum,
                            learning_rate=0.1, beta=0.8)
    for key in ("W1", "b1"):
        check_array(9, f"parameters['{key}'] after two steps", parameters[key], OPTIMIZER_EXPECTED["momentum"][key],
                    "v = beta * v + (1 - beta) * grad, then param = param - learning_rate * v; "
                    "keep v in self.velocities between steps.")
    passed(9)


def test_rmsprop(RMSProp):
    parameters = _two_steps(10, "RMSProp", RMSProp, learning_rate=0.1, beta=0.8)
    for key in ("W1", "b1"):
        check_array(10, f"parameters['{key}'] after two steps", parameters[key], OPTIMIZER_EXPECTED["rmsprop"][key],
                    "s = beta * s + (1 - beta) * grad**2, then param = param - learning_rate * grad / "
                    "(np.sqrt(s) + epsilon), epsilon outside the square root; keep s between steps.")
    passed(10)


def test_adam(Adam):
    parameters = _two_steps(11, "Adam", Adam, learning_rate=0.1, beta1=0.8, beta2=0.9)
    for key in ("W1", "b1"):
        check_array(11, f"parameters['{key}'] after two steps", parameters[key], OPTIMIZER_EXPECTED["adam"][key],
                    "v = beta1 * v + (1 - beta1) * grad, s = beta2 * s + (1 - beta2) * grad**2, then "
                    "param = param - learning_rate * v / (np.sqrt(s) + epsilon), with no bias correction.")
    passed(11)
