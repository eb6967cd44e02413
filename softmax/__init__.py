"""The CS231n case study made to be watched: linear softmax / SVM classifiers and the 2-layer net, in numpy.

The public API, importable from here:

    softmax_loss(W, b, X, y, reg) -> (loss, dW, db)
    svm_loss(W, b, X, y, reg, delta=1.0) -> (loss, dW, db)
    two_layer_loss(params, X, y, reg) -> (loss, grads)
    Config, Run, Trainer, Snapshot, check_gradient, check_snapshot, make_model, make_dataset
"""

from .config import Config
from .data import make_dataset
from .gradcheck import GradCheck, check_gradient, check_snapshot
from .models import make_model, softmax_loss, svm_loss, two_layer_loss
from .optim import OPTIMIZERS
from .run import Run, replay
from .runner import TooManyTrainers, Trainer
from .snapshot import Change, History, Snapshot

__version__ = "0.2.0"

__all__ = [
    "OPTIMIZERS", "Change", "Config", "GradCheck", "History", "Run", "Snapshot", "TooManyTrainers", "Trainer",
    "check_gradient", "check_snapshot", "make_dataset", "make_model", "replay", "softmax_loss", "svm_loss",
    "two_layer_loss",
]
