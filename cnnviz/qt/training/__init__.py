"""The Training panel: settings, run, curves, runs list, evaluation, confusion matrix, error gallery."""
