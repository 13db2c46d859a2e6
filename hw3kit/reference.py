"""The grader's reference implementation of Homework 3.

Hidden tests swap these pieces in for the student's own (see ``hw3kit.hidden_tests``) so that each
exercise is graded on its own code only. The formulas are the ones the master notebook states; the
printed numbers of the original homework pin them down (see ``tests/fixtures/seed_outputs.txt``).
"""
import numpy as np


def initialize_dnn_parameters(layer_dims):
    """W_l = sqrt(1/n_{l-1}) * randn(n_l, n_{l-1}), b_l = zeros((n_l, 1)), drawn from np.random."""
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = np.sqrt(1 / layer_dims[l - 1]) * np.random.randn(layer_dims[l], layer_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


class Sigmoid:
    """sigma(x) = 1 / (1 + exp(-x)), sigma'(x) = sigma(x) (1 - sigma(x))."""

    def forward(self, x):
        return 1 / (1 + np.exp(-x))

    def derivative(self, x):
        s = self.forward(x)
        return s * (1 - s)

    def __call__(self, x):
        return self.forward(x)


class ReLU:
    """relu(x) = max(0, x), relu'(x) = 1 where x >= 0 and 0 elsewhere (so relu'(0) = 1)."""

    def forward(self, x):
        return np.maximum(0, x)

    def derivative(self, x):
        return np.where(x >= 0, 1, 0)

    def __call__(self, x):
        return self.forward(x)


def layer(A_prev, W, b, act):
    """Z = W A_prev + b, A = act(Z); returns (A, Z)."""
    Z = W @ A_prev + b
    return act(Z), Z


def forward_propagation(X, parameters, act):
    """Applies ``layer`` L = len(parameters) // 2 times; caches A0..AL and Z1..ZL."""
    A = X
    caches = {"A0": X}
    for l in range(1, len(parameters) // 2 + 1):
        A, Z = layer(A, parameters[f"W{l}"], parameters[f"b{l}"], act)
        caches[f"Z{l}"] = Z
        caches[f"A{l}"] = A
    return A, caches


def compute_cost(A, Y):
    """Square loss  1/(2m) * ||A - Y||^2."""
    return np.sum((A - Y) ** 2) / (2 * Y.shape[1])


def back_propagation(Y, parameters, caches, act_derivative):
    """dZ_L = (A_L - Y)/m * act'(Z_L); dW = dZ A_prev^T; db = sum of dZ over samples;
    dZ_{l-1} = act'(Z_{l-1}) * (W_l^T dZ_l)."""
    L = len(parameters) // 2
    m = Y.shape[1]
    grads = {}
    dZ = (caches[f"A{L}"] - Y) / m * act_derivative(caches[f"Z{L}"])
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ caches[f"A{l - 1}"].T
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            dZ = parameters[f"W{l}"].T @ dZ * act_derivative(caches[f"Z{l - 1}"])
    return grads


def gradient_descent_step(parameters, grads, learning_rate):
    """theta <- theta - learning_rate * d theta, for every W_l and b_l, in place."""
    for l in range(1, len(parameters) // 2 + 1):
        parameters[f"W{l}"] = parameters[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        parameters[f"b{l}"] = parameters[f"b{l}"] - learning_rate * grads[f"db{l}"]


class NeuralNetwork:
    """A fully connected network n_x -> n_h (depth - 1 times) -> n_y with one activation everywhere."""

    def __init__(self, n_x, n_y, n_h, depth, act):
        self.n_x, self.n_y, self.n_h, self.depth, self.act = n_x, n_y, n_h, depth, act
        self.initialize()

    def initialize(self):
        layer_dims = [self.n_x] + [self.n_h] * (self.depth - 1) + [self.n_y]
        self.parameters = initialize_dnn_parameters(layer_dims)

    def forward(self, X):
        output, self.caches = forward_propagation(X, self.parameters, self.act)
        return output

    def backward(self, Y):
        self.grads = back_propagation(Y, self.parameters, self.caches, self.act.derivative)

    def __call__(self, X):
        return self.forward(X)


class Optimizer:
    def __init__(self, network, learning_rate):
        self.network = network
        self.learning_rate = learning_rate

    def step(self):
        raise NotImplementedError("Step method must be implemented in a subclass")


class GradientDescent(Optimizer):
    """w <- w - lr * g."""

    def step(self):
        gradient_descent_step(self.network.parameters, self.network.grads, self.learning_rate)


class GradientDescentWithMomentum(Optimizer):
    """v <- beta v + (1 - beta) g;  w <- w - lr v."""

    def __init__(self, network, learning_rate, beta=0.9):
        super().__init__(network, learning_rate)
        self.beta = beta
        self.velocities = {}

    def step(self):
        for key, param in self.network.parameters.items():
            grad = self.network.grads["d" + key]
            v = self.beta * self.velocities.get(key, np.zeros_like(param)) + (1 - self.beta) * grad
            self.velocities[key] = v
            self.network.parameters[key] = param - self.learning_rate * v


class RMSProp(Optimizer):
    """s <- beta s + (1 - beta) g**2;  w <- w - lr g / (sqrt(s) + epsilon)   (epsilon outside the root)."""

    def __init__(self, network, learning_rate, beta=0.9, epsilon=1e-8):
        super().__init__(network, learning_rate)
        self.beta = beta
        self.epsilon = epsilon
        self.squared_gradients = {}

    def step(self):
        for key, param in self.network.parameters.items():
            grad = self.network.grads["d" + key]
            s = self.beta * self.squared_gradients.get(key, np.zeros_like(param)) + (1 - self.beta) * grad**2
            self.squared_gradients[key] = s
            self.network.parameters[key] = param - self.learning_rate * grad / (np.sqrt(s) + self.epsilon)


class Adam(Optimizer):
    """v <- b1 v + (1 - b1) g;  s <- b2 s + (1 - b2) g**2;  w <- w - lr v / (sqrt(s) + epsilon).
    No bias correction, epsilon outside the root."""

    def __init__(self, network, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(network, learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.velocities = {}
        self.squared_gradients = {}

    def step(self):
        for key, param in self.network.parameters.items():
            grad = self.network.grads["d" + key]
            v = self.beta1 * self.velocities.get(key, np.zeros_like(param)) + (1 - self.beta1) * grad
            s = self.beta2 * self.squared_gradients.get(key, np.zeros_like(param)) + (1 - self.beta2) * grad**2
            self.velocities[key], self.squared_gradients[key] = v, s
            self.network.parameters[key] = param - self.learning_rate * v / (np.sqrt(s) + self.epsilon)
