"""Errors meant for people: each carries one sentence a user can act on."""


class CnnvizError(Exception):
    """A failure the user can understand; ``str(err)`` is one clear sentence."""


class DataMissingError(CnnvizError):
    """The dataset is not on disk and could not be downloaded."""


class DataCorruptError(CnnvizError):
    """A dataset file is on disk but is not what it should be (truncated, foreign, unreadable)."""


class CheckpointError(CnnvizError):
    """A weights file is corrupt, foreign, or belongs to another model.

    ``file_model`` is the registered model the file names, when its metadata
    was read before the failure: the app suggests that model without opening
    the file a second time (a file can be a FIFO, or change in between).
    """

    def __init__(self, message: str, file_model: str | None = None) -> None:
        super().__init__(message)
        self.file_model = file_model


class UserModelError(CnnvizError):
    """The user's network file cannot be used; ``str(err)`` says why in one sentence."""
