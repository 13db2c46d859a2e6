"""A class for the similarity report, written by hand: five students who solved the exercises each in
their own way (short answers, alike as answers to the same exercise must be), and one pair, ana and
ben, where ben copied ana and disguised it: names changed, the helper functions moved, comments
and blank lines changed. ``fill`` puts each answer in place of the release's stubs."""
import re

from coursekit.submissions import build_submission, load_course_notebooks, solved_answers

STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)\n?", re.M)
EXERCISES = ["ex01-answer", "ex02-answer", "ex03-answer", "ex05-answer", "ex07-answer", "ex09-answer",
             "ex10-answer", "ex11-answer"]


def fill(release_source, bodies, before="", after=""):
    """The release cell with its stubs replaced, in order, by ``bodies`` (indented like the stub), and
    code of the student's own put before or after it."""
    bodies = list(bodies)

    def body(match):
        indent = match.group(1)
        return "".join(indent + line + "\n" if line else "\n" for line in bodies.pop(0).strip("\n").split("\n"))

    filled = STUB.sub(body, release_source)
    assert not bodies, "more bodies than stubs"
    return (before.strip("\n") + "\n\n\n" if before else "") + filled + ("\n\n\n" + after.strip("\n") if after else "")


ANA = {
    "ex01-answer": dict(before='''
def _gaussian_block(rows, cols, fan_in):
    # weights with variance 1 / fan_in
    scale = (1.0 / fan_in) ** 0.5
    block = np.random.randn(rows, cols)
    return block * scale
''', bodies=['''
fan_in, fan_out = layer_dims[l - 1], layer_dims[l]
parameters['W%d' % l] = _gaussian_block(fan_out, fan_in, fan_in)
parameters['b%d' % l] = np.zeros(shape=(fan_out, 1))
''']),
    "ex02-answer": dict(bodies=['''
out = x.copy()
out[out < 0] = 0.0
return out
''', '''
grad = np.ones_like(x, dtype=float)
grad[x < 0] = 0.0
return grad
''']),
    "ex03-answer": dict(bodies=['''
Z = np.dot(W, A_prev) + b
A = act.forward(Z)
''']),
    "ex05-answer": dict(bodies=['''
dW = np.dot(dZ, np.transpose(A_prev))
db = dZ.sum(axis=1).reshape(-1, 1)
''']),
    "ex07-answer": dict(bodies=['''
W = W - np.multiply(learning_rate, dW)
''']),
    "ex09-answer": dict(before='''
def beta_mix(beta, old, new):
    """Exponential moving average: beta * old + (1 - beta) * new."""
    return beta * old + (1.0 - beta) * new
''', bodies=['''
velocity = beta_mix(self.beta, velocity, grad)
param = param - self.learning_rate * velocity
''']),
    "ex10-answer": dict(before='''
def rms_denominator(running_square, eps):
    return np.sqrt(running_square) + eps
''', bodies=['''
squared_gradient = beta_mix(self.beta, squared_gradient, np.square(grad))
denominator = rms_denominator(squared_gradient, self.epsilon)
param = param - self.learning_rate * grad / denominator
''']),
    "ex11-answer": dict(bodies=['''
velocity = beta_mix(self.beta1, velocity, grad)
squared_gradient = beta_mix(self.beta2, squared_gradient, np.square(grad))
denominator = rms_denominator(squared_gradient, self.epsilon)
param = param - self.learning_rate * velocity / denominator
''']),
}

# ben copied ana: helpers renamed and moved after the code that uses them, variables renamed,
# comments rewritten, blank lines added and removed
BEN = {
    "ex01-answer": dict(after='''
def make_weights(n_rows, n_cols, n_in):

    std = (1.0 / n_in) ** 0.5   # He? no: 1/n_in variance

    w = np.random.randn(n_rows, n_cols)
    return w * std
''', bodies=['''
n_prev, n_cur = layer_dims[l - 1], layer_dims[l]
parameters['W%d' % l] = make_weights(n_cur, n_prev, n_prev)

parameters['b%d' % l] = np.zeros(shape=(n_cur, 1))
''']),
    "ex02-answer": dict(bodies=['''
result = x.copy()
# negative values become zero
result[result < 0] = 0.0
return result
''', '''
d = np.ones_like(x, dtype=float)

d[x < 0] = 0.0
return d
''']),
    "ex03-answer": dict(bodies=['''
Z = np.dot(W, A_prev) + b   # linear part
A = act.forward(Z)
''']),
    "ex05-answer": dict(bodies=['''
dW = np.dot(dZ, np.transpose(A_prev))

db = dZ.sum(axis=1).reshape(-1, 1)  # column vector
''']),
    "ex07-answer": dict(bodies=['''
W = W - np.multiply(learning_rate, dW)  # update
''']),
    "ex09-answer": dict(after='''
def ema(b, previous, current):
    return b * previous + (1.0 - b) * current
''', bodies=['''
velocity = ema(self.beta, velocity, grad)

param = param - self.learning_rate * velocity
''']),
    "ex10-answer": dict(after='''
def denom(acc, tiny):
    # sqrt then add epsilon
    return np.sqrt(acc) + tiny
''', bodies=['''
squared_gradient = ema(self.beta, squared_gradient, np.square(grad))
bottom = denom(squared_gradient, self.epsilon)
param = param - self.learning_rate * grad / bottom
''']),
    "ex11-answer": dict(bodies=['''
velocity = ema(self.beta1, velocity, grad)
squared_gradient = ema(self.beta2, squared_gradient, np.square(grad))

bottom = denom(squared_gradient, self.epsilon)
param = param - self.learning_rate * velocity / bottom
''']),
}

CARA = {
    "ex01-answer": dict(bodies=['''
parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l-1]) * np.sqrt(1 / layer_dims[l-1])
parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
''']),
    "ex02-answer": dict(bodies=["return np.maximum(x, 0)", "return (x >= 0).astype(float)"]),
    "ex03-answer": dict(bodies=["Z = np.dot(W, A_prev) + b\nA = act(Z)"]),
    "ex05-answer": dict(bodies=["dW = np.dot(dZ, A_prev.T)\ndb = np.sum(dZ, axis=1, keepdims=True)"]),
    "ex07-answer": dict(bodies=["W = W - learning_rate * dW"]),
    "ex09-answer": dict(bodies=["velocity = self.beta * velocity + (1 - self.beta) * grad\n"
                                "param = param - self.learning_rate * velocity"]),
    "ex10-answer": dict(bodies=["squared_gradient = self.beta * squared_gradient + (1 - self.beta) * np.square(grad)\n"
                                "param = param - self.learning_rate * grad / (np.sqrt(squared_gradient) + self.epsilon)"]),
    "ex11-answer": dict(bodies=["velocity = self.beta1 * velocity + (1 - self.beta1) * grad\n"
                                "squared_gradient = self.beta2 * squared_gradient + (1 - self.beta2) * np.square(grad)\n"
                                "param = param - self.learning_rate * velocity / (np.sqrt(squared_gradient) + self.epsilon)"]),
}

DEV = {
    "ex01-answer": dict(bodies=['''
n_prev = layer_dims[l - 1]
W = np.random.randn(layer_dims[l], n_prev) / np.sqrt(n_prev)
parameters['W' + str(l)] = W
parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
''']),
    "ex02-answer": dict(bodies=["return x * (x > 0)", "return np.where(x < 0, 0.0, 1.0)"]),
    "ex03-answer": dict(bodies=["Z = W.dot(A_prev) + b\nA = act(Z)"]),
    "ex05-answer": dict(bodies=["dW = dZ.dot(A_prev.T)\ndb = dZ.sum(axis=1, keepdims=True)"]),
    "ex07-answer": dict(bodies=["W -= learning_rate * dW"]),
    "ex09-answer": dict(bodies=["velocity = self.beta * velocity + (1 - self.beta) * grad\n"
                                "param -= self.learning_rate * velocity"]),
    "ex10-answer": dict(bodies=["squared_gradient = self.beta * squared_gradient + (1 - self.beta) * grad * grad\n"
                                "param -= self.learning_rate * grad / (np.sqrt(squared_gradient) + self.epsilon)"]),
    "ex11-answer": dict(bodies=["velocity = self.beta1 * velocity + (1 - self.beta1) * grad\n"
                                "squared_gradient = self.beta2 * squared_gradient + (1 - self.beta2) * grad * grad\n"
                                "param -= self.learning_rate * velocity / (np.sqrt(squared_gradient) + self.epsilon)"]),
}

ELI = {
    "ex01-answer": dict(bodies=['''
rows, cols = layer_dims[l], layer_dims[l - 1]
parameters[f"W{l}"] = np.random.randn(rows, cols) * (1 / cols) ** 0.5
parameters[f"b{l}"] = np.zeros((rows, 1))
''']),
    "ex02-answer": dict(bodies=["return np.clip(x, 0, None)", "d = np.zeros(x.shape)\nd[x >= 0] = 1\nreturn d"]),
    "ex03-answer": dict(bodies=["Z = np.matmul(W, A_prev) + b\nA = act(Z)"]),
    "ex05-answer": dict(bodies=["dW = np.matmul(dZ, A_prev.T)\ndb = np.sum(dZ, axis=1).reshape(dZ.shape[0], 1)"]),
    "ex07-answer": dict(bodies=["W = W - dW * learning_rate"]),
    "ex09-answer": dict(bodies=["velocity = velocity * self.beta + grad * (1 - self.beta)\n"
                                "param = param - velocity * self.learning_rate"]),
    "ex10-answer": dict(bodies=["squared_gradient = squared_gradient * self.beta + (grad ** 2) * (1 - self.beta)\n"
                                "param = param - self.learning_rate * grad / (squared_gradient ** 0.5 + self.epsilon)"]),
    "ex11-answer": dict(bodies=["velocity = velocity * self.beta1 + grad * (1 - self.beta1)\n"
                                "squared_gradient = squared_gradient * self.beta2 + (grad ** 2) * (1 - self.beta2)\n"
                                "param = param - self.learning_rate * velocity / (squared_gradient ** 0.5 + self.epsilon)"]),
}

FAY = {
    "ex01-answer": dict(bodies=['''
shape = (layer_dims[l], layer_dims[l - 1])
parameters['W' + str(l)] = np.random.randn(*shape) * np.sqrt(1.0 / layer_dims[l - 1])
parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
''']),
    "ex02-answer": dict(bodies=["return np.maximum(0, x)", "return np.greater_equal(x, 0).astype(float)"]),
    "ex03-answer": dict(bodies=["Z = W @ A_prev + b\nA = act(Z)"]),
    "ex05-answer": dict(bodies=["dW = dZ @ A_prev.T\ndb = np.sum(dZ, axis=1, keepdims=True)"]),
    "ex07-answer": dict(bodies=["W = W - learning_rate * dW"]),
    "ex09-answer": dict(bodies=["new_velocity = self.beta * velocity + (1 - self.beta) * grad\n"
                                "velocity = new_velocity\nparam = param - self.learning_rate * velocity"]),
    "ex10-answer": dict(bodies=["squared_gradient = self.beta * squared_gradient + (1 - self.beta) * grad ** 2\n"
                                "step = grad / (np.sqrt(squared_gradient) + self.epsilon)\n"
                                "param = param - self.learning_rate * step"]),
    "ex11-answer": dict(bodies=["velocity = self.beta1 * velocity + (1 - self.beta1) * grad\n"
                                "squared_gradient = self.beta2 * squared_gradient + (1 - self.beta2) * grad ** 2\n"
                                "step = velocity / (np.sqrt(squared_gradient) + self.epsilon)\n"
                                "param = param - self.learning_rate * step"]),
}

STUDENTS = {"ana": ANA, "ben": BEN, "cara": CARA, "dev": DEV, "eli": ELI, "fay": FAY}
COPIED_PAIR = ("ana", "ben")


def notebooks(course_root):
    """{student: notebook} of the class; answer cells outside EXERCISES hold the master's solution."""
    release, source = load_course_notebooks(course_root)
    released = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in release.cells}
    solutions = solved_answers(source)
    result = {}
    for student, answers in STUDENTS.items():
        cells = {grade_id: "solution" for grade_id in solutions if grade_id.endswith("-answer")}
        for grade_id, parts in answers.items():
            cells[grade_id] = fill(released[grade_id], parts["bodies"], parts.get("before", ""), parts.get("after", ""))
        result[student] = build_submission(release, source, cells)
    return result
