"""Weights on disk: safetensors checkpoints and the checks a file must pass before use."""
