"""cnnviz: draw a digit and watch classic convolutional networks think and learn."""

__version__ = "0.1.0"
