"""The mutation catalogue: submissions built from the release, each with the grade cells it must lose.

Every entry starts from the full solution (``answers`` changes some answer cells) unless it says
``only``: then every other answer is left as released (a stub). ``loses`` names the grade cells that
must score 0; every other grade cell must score full points. ``python -m homework3 kill-matrix`` grades
them all and prints the matrix; ``tests/test_catalogue.py`` asserts it.
"""
from homework3.samples import ALL_ANSWERS
from coursekit.submissions import SOLUTION

GRADE_CELLS = {
    "ex01": ["ex01-initialize"], "ex02": ["ex02-relu-forward", "ex02-relu-derivative"], "ex03": ["ex03-layer"],
    "ex04": ["ex04-forward-propagation"], "ex05": ["ex05-back-propagation"],
    "ex06": ["ex06-network-initialize", "ex06-network-backward"], "ex07": ["ex07-gradient-descent-step"],
    "ex08": ["ex08-gradient-descent"], "ex09": ["ex09-momentum"], "ex10": ["ex10-rmsprop"], "ex11": ["ex11-adam"],
}
ALL_GRADE_CELLS = [cell for cells in GRADE_CELLS.values() for cell in cells]

W_INIT = "np.sqrt(1 / layer_dims[l - 1]) * np.random.randn(layer_dims[l], layer_dims[l - 1])"
MOMENTUM_V = "velocity = self.beta * velocity + (1 - self.beta) * grad"
MOMENTUM_W = "param = param - self.learning_rate * velocity"
RMS_S = "squared_gradient = self.beta * squared_gradient + (1 - self.beta) * grad ** 2"
RMS_W = "param = param - self.learning_rate * grad / (np.sqrt(squared_gradient) + self.epsilon)"
ADAM_V = "velocity = self.beta1 * velocity + (1 - self.beta1) * grad"
ADAM_S = "squared_gradient = self.beta2 * squared_gradient + (1 - self.beta2) * grad ** 2"
ADAM_W = "param = param - self.learning_rate * velocity / (np.sqrt(squared_gradient) + self.epsilon)"
INDENT = "\n            "

WRONG = {
    # Exercise 1: initialization
    "ex01-unscaled-weights": ({"ex01-answer": [(W_INIT, "np.random.randn(layer_dims[l], layer_dims[l - 1])")]}, ["ex01-initialize"]),
    "ex01-scale-by-current-layer": ({"ex01-answer": [("np.sqrt(1 / layer_dims[l - 1])", "np.sqrt(1 / layer_dims[l])")]}, ["ex01-initialize"]),
    "ex01-he-initialization": ({"ex01-answer": [("np.sqrt(1 / layer_dims[l - 1])", "np.sqrt(2 / layer_dims[l - 1])")]}, ["ex01-initialize"]),
    "ex01-flat-bias": ({"ex01-answer": [("np.zeros((layer_dims[l], 1))", "np.zeros(layer_dims[l])")]}, ["ex01-initialize"]),
    "ex01-transposed-draw": ({"ex01-answer": [("np.random.randn(layer_dims[l], layer_dims[l - 1])",
                                               "np.random.randn(layer_dims[l - 1], layer_dims[l]).T")]}, ["ex01-initialize"]),
    # Exercise 2: ReLU
    "ex02-forward-returns-mask": ({"ex02-answer": [("np.maximum(0, x)", "np.where(x > 0, 1, 0)")]}, ["ex02-relu-forward"]),
    "ex02-forward-clipped-at-one": ({"ex02-answer": [("np.maximum(0, x)", "np.clip(x, 0, 1)")]}, ["ex02-relu-forward"]),
    "ex02-forward-in-place": ({"ex02-answer": [("return np.maximum(0, x)", "x[x < 0] = 0\n        return x")]}, ["ex02-relu-forward"]),
    "ex02-derivative-zero-at-zero": ({"ex02-answer": [("np.where(x >= 0, 1, 0)", "np.where(x > 0, 1, 0)")]}, ["ex02-relu-derivative"]),
    "ex02-derivative-returns-relu": ({"ex02-answer": [("np.where(x >= 0, 1, 0)", "np.where(x >= 0, x, 0)")]}, ["ex02-relu-derivative"]),
    # Exercise 3: layer
    "ex03-no-bias": ({"ex03-answer": [("Z = W @ A_prev + b", "Z = W @ A_prev")]}, ["ex03-layer"]),
    "ex03-relu-instead-of-act": ({"ex03-answer": [("    A = act(Z)", "    A = ReLU()(Z)")]}, ["ex03-layer"]),
    "ex03-transposed-product": ({"ex03-answer": [("Z = W @ A_prev + b", "Z = (A_prev.T @ W.T).T + b.T")]}, ["ex03-layer"]),
    # Exercise 4: forward propagation
    "ex04-act-not-passed": ({"ex04-answer": [("layer(A_prev, W, b, act)", "layer(A_prev, W, b)")]}, ["ex04-forward-propagation"]),
    "ex04-input-to-every-layer": ({"ex04-answer": [("layer(A_prev, W, b, act)", "layer(X, W, b, act)")]}, ["ex04-forward-propagation"]),
    "ex04-z-and-a-swapped": ({"ex04-answer": [("A, Z = layer(", "Z, A = layer(")]}, ["ex04-forward-propagation"]),
    # Exercise 5: back propagation
    "ex05-db-mean": ({"ex05-answer": [("np.sum(dZ, axis=1, keepdims=True)", "np.mean(dZ, axis=1, keepdims=True)")]}, ["ex05-back-propagation"]),
    "ex05-dw-divided-by-m": ({"ex05-answer": [("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T / m")]}, ["ex05-back-propagation"]),
    "ex05-db-flat": ({"ex05-answer": [("np.sum(dZ, axis=1, keepdims=True)", "np.sum(dZ, axis=1)")]}, ["ex05-back-propagation"]),
    "ex05-dw-from-pre-activation": ({"ex05-answer": [("dW = dZ @ A_prev.T", "dW = dZ @ (caches['Z' + str(l - 1)] if l > 1 else A_prev).T")]}, ["ex05-back-propagation"]),
    # Exercise 6: NeuralNetwork
    "ex06-initialize-one-hidden-layer": ({"ex06-answer": [("initialize_dnn_parameters(layer_dims)",
                                                           "initialize_dnn_parameters([self.n_x, self.n_h, self.n_y])")]}, ["ex06-network-initialize"]),
    "ex06-initialize-not-stored": ({"ex06-answer": [("self.parameters = initialize_dnn_parameters", "parameters = initialize_dnn_parameters")]}, ["ex06-network-initialize"]),
    "ex06-backward-default-derivative": ({"ex06-answer": [("self.caches, self.act.derivative)", "self.caches)")]}, ["ex06-network-backward"]),
    "ex06-backward-not-stored": ({"ex06-answer": [("self.grads = back_propagation", "grads = back_propagation")]}, ["ex06-network-backward"]),
    # Exercise 7: gradient descent step
    "ex07-ascent": ({"ex07-answer": [("W = W - learning_rate * dW", "W = W + learning_rate * dW")]}, ["ex07-gradient-descent-step"]),
    "ex07-no-learning-rate": ({"ex07-answer": [("W = W - learning_rate * dW", "W = W - dW")]}, ["ex07-gradient-descent-step"]),
    # Exercise 8: GradientDescent
    "ex08-global-learning-rate": ({"ex08-answer": [("self.network.grads, self.learning_rate)", "self.network.grads, learning_rate)")]}, ["ex08-gradient-descent"]),
    "ex08-arguments-swapped": ({"ex08-answer": [("(self.network.parameters, self.network.grads,", "(self.network.grads, self.network.parameters,")]}, ["ex08-gradient-descent"]),
    # Exercise 9: momentum
    "ex09-no-damping": ({"ex09-answer": [(MOMENTUM_V, "velocity = self.beta * velocity + grad")]}, ["ex09-momentum"]),
    "ex09-steps-along-gradient": ({"ex09-answer": [(MOMENTUM_W, "param = param - self.learning_rate * grad")]}, ["ex09-momentum"]),
    "ex09-forgets-velocity": ({"ex09-answer": [(MOMENTUM_V, "velocity = (1 - self.beta) * grad")]}, ["ex09-momentum"]),
    # Exercise 10: RMSProp
    "ex10-epsilon-inside-sqrt": ({"ex10-answer": [("np.sqrt(squared_gradient) + self.epsilon", "np.sqrt(squared_gradient + self.epsilon)")]}, ["ex10-rmsprop"]),
    "ex10-no-square-root": ({"ex10-answer": [("np.sqrt(squared_gradient) + self.epsilon", "squared_gradient + self.epsilon")]}, ["ex10-rmsprop"]),
    "ex10-forgets-average": ({"ex10-answer": [(RMS_S, "squared_gradient = (1 - self.beta) * grad ** 2")]}, ["ex10-rmsprop"]),
    # Exercise 11: Adam
    "ex11-bias-corrected": ({"ex11-answer": [(ADAM_W, "self.t = getattr(self, 't', {})" + INDENT + "self.t[key] = self.t.get(key, 0) + 1"
                                              + INDENT + "v_hat = velocity / (1 - self.beta1 ** self.t[key])"
                                              + INDENT + "s_hat = squared_gradient / (1 - self.beta2 ** self.t[key])"
                                              + INDENT + "param = param - self.learning_rate * v_hat / (np.sqrt(s_hat) + self.epsilon)")]}, ["ex11-adam"]),
    "ex11-epsilon-inside-sqrt": ({"ex11-answer": [("np.sqrt(squared_gradient) + self.epsilon", "np.sqrt(squared_gradient + self.epsilon)")]}, ["ex11-adam"]),
    "ex11-gradient-instead-of-velocity": ({"ex11-answer": [(ADAM_W, "param = param - self.learning_rate * grad / (np.sqrt(squared_gradient) + self.epsilon)")]}, ["ex11-adam"]),
    "ex11-beta1-for-both": ({"ex11-answer": [(ADAM_S, "squared_gradient = self.beta1 * squared_gradient + (1 - self.beta1) * grad ** 2")]}, ["ex11-adam"]),
}

RIGHT = {
    "alt-relu-products": {"ex02-answer": [("np.maximum(0, x)", "x * (x > 0)"), ("np.where(x >= 0, 1, 0)", "(x >= 0).astype(float)")]},
    "alt-init-divide": {"ex01-answer": [(W_INIT, "np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])")]},
    "alt-np-dot": {"ex03-answer": [("Z = W @ A_prev + b", "Z = np.dot(W, A_prev) + b")],
                   "ex05-answer": [("dW = dZ @ A_prev.T", "dW = np.dot(dZ, A_prev.T)"),
                                   ("np.sum(dZ, axis=1, keepdims=True)", "dZ @ np.ones((dZ.shape[1], 1))")]},
    "alt-forward-without-layer": {"ex04-answer": [("A, Z = layer(A_prev, W, b, act)", "Z = W @ A_prev + b\n        A = act(Z)")]},
    "alt-keyword-arguments": {"ex06-answer": [("self.caches, self.act.derivative)", "caches=self.caches, act_derivative=self.act.derivative)")],
                              "ex08-answer": [("self.network.grads, self.learning_rate)", "self.network.grads, learning_rate=self.learning_rate)")]},
    "alt-all-keywords": {"ex04-answer": [("A, Z = layer(A_prev, W, b, act)", "A, Z = layer(A_prev, W=W, b=b, act=act)")],
                         "ex08-answer": [("gradient_descent_step(self.network.parameters, self.network.grads, self.learning_rate)",
                                          "gradient_descent_step(parameters=self.network.parameters, "
                                          "grads=self.network.grads, learning_rate=self.learning_rate)")]},
    "alt-in-place-updates": {
        "ex07-answer": [("W = W - learning_rate * dW", "W -= learning_rate * dW")],
        "ex09-answer": [(MOMENTUM_V, "velocity *= self.beta" + INDENT + "velocity += (1 - self.beta) * grad"),
                        (MOMENTUM_W, "param -= self.learning_rate * velocity")],
        "ex10-answer": [(RMS_S, "squared_gradient *= self.beta" + INDENT + "squared_gradient += (1 - self.beta) * np.square(grad)"),
                        (RMS_W, "param -= self.learning_rate * grad / (np.sqrt(squared_gradient) + self.epsilon)")],
        "ex11-answer": [(ADAM_V, "velocity = self.beta1 * velocity + (1.0 - self.beta1) * grad"),
                        (ADAM_S, "squared_gradient = self.beta2 * squared_gradient + (1.0 - self.beta2) * np.power(grad, 2)"),
                        (ADAM_W, "param -= self.learning_rate * velocity / (np.sqrt(squared_gradient) + self.epsilon)")]},
    "alt-noisy-student": {  # prints, extra random draws and top-level names the tests must not depend on
        "ex01-answer": [("    return parameters", "    print('debug: initialized', len(parameters) // 2, 'layers')\n    return parameters")],
        "ex03-answer": [("    return A, Z", "    return A, Z\n\nX, Y, parameters, network, grads = 'X', None, {}, None, 'grads'\nnp.random.randn(17)\nprint('my own check')")],
        "ex09-answer": [(MOMENTUM_W, MOMENTUM_W + INDENT + "np.random.rand(3)")]},
}


def entries():
    """{name: (answers, grade cells that must score 0)} for the whole catalogue."""
    catalogue = {}
    for name, (changes, loses) in WRONG.items():
        catalogue[f"wrong-{name}"] = ({**{a: SOLUTION for a in ALL_ANSWERS}, **changes}, loses)
    for name, changes in RIGHT.items():
        catalogue[f"right-{name}"] = ({**{a: SOLUTION for a in ALL_ANSWERS}, **changes}, [])
    for number, exercise in enumerate(GRADE_CELLS, start=1):
        answers = {f"{exercise}-answer": SOLUTION}
        catalogue[f"only-{exercise}"] = (answers, [c for c in ALL_GRADE_CELLS if c not in GRADE_CELLS[exercise]])
    return catalogue
