"""The CS231n case-study loop as the notes print it, transcribed line for line.

Kept verbatim (Python 3 syntax only) as the oracle the tests compare the
trainer with and the baseline the benchmark times; the trainer never calls it.
"""

import numpy as np


def cs231n_loop(X, y, W, b, step_size=1e-0, reg=1e-3, iterations=200, log=None):
    """Run the notes' gradient descent loop on copies of W (D, K) and b (1, K).

    Returns (W, b, loss at the last iteration). ``log(i, loss)`` is called where
    the notes print.
    """
    W = W.copy()
    b = b.reshape(1, -1).copy()
    # gradient descent loop
    num_examples = X.shape[0]
    for i in range(iterations):
        # evaluate class scores, [N x K]
        scores = np.dot(X, W) + b
        # compute the class probabilities
        exp_scores = np.exp(scores)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)  # [N x K]
        # compute the loss: average cross-entropy loss and regularization
        corect_logprobs = -np.log(probs[range(num_examples), y])
        data_loss = np.sum(corect_logprobs) / num_examples
        reg_loss = 0.5 * reg * np.sum(W * W)
        loss = data_loss + reg_loss
        if log is not None and i % 10 == 0:
            log(i, loss)
        # compute the gradient on scores
        dscores = probs
        dscores[range(num_examples), y] -= 1
        dscores /= num_examples
        # backpropate the gradient to the parameters (W,b)
        dW = np.dot(X.T, dscores)
        db = np.sum(dscores, axis=0, keepdims=True)
        dW += reg * W  # regularization gradient
        # perform a parameter update
        W += -step_size * dW
        b += -step_size * db
    return W, b, loss
