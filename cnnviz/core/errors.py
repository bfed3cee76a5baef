"""Errors meant for people: each carries one sentence a user can act on."""


class CnnvizError(Exception):
    """A failure the user can understand; ``str(err)`` is one clear sentence."""


class DataMissingError(CnnvizError):
    """The dataset is not on disk and could not be downloaded."""


class CheckpointError(CnnvizError):
    """A weights file is corrupt, foreign, or belongs to another model."""
