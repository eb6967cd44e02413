"""The CS231n linear softmax classifier, made to be watched: pure numpy."""

__version__ = "0.1.0"
