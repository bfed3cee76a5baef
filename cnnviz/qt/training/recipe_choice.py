"""The Training panel's recipe: today's optimizers, or LeNet-5 trained the 1998 way (LeNet-5 only)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from cnnviz.core.training.recipe_defaults import RECIPE_DEFAULTS, RECIPE_MODELS

_TIP = (
    "Modern: the optimizer, learning rate and schedule below.\n"
    "LeCun 1998 (LeNet-5 only): the paper's own recipe: stochastic diagonal Levenberg-Marquardt\n"
    "(a step per weight from its second derivative), the MAP loss on the RBF outputs, the paper's\n"
    "falling learning rate, 20 passes. 'Augment images' then applies the paper's distortions."
)


class RecipeCombo(QComboBox):
    """``recipe`` is None (modern) or "lecun1998"; the 1998 entry is offered for the networks it can train."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainRecipe")
        self.addItem("Modern", None)
        self.addItem("LeCun 1998 (SDLM)", "lecun1998")
        self.setToolTip(_TIP)
        self._model = ""

    def follow_model(self, model: str | None) -> None:
        """Enable the choice for a network the 1998 recipe trains; otherwise back to modern, greyed."""
        self._model = model or ""
        fits = any(self._model in models for models in RECIPE_MODELS.values())
        if not fits:
            self.setCurrentIndex(0)
        self.setEnabled(fits)

    @property
    def recipe(self) -> str | None:
        return self.currentData() if self.isEnabled() else None

    @staticmethod
    def defaults(recipe: str | None) -> dict:
        """The epochs and batch size a recipe starts from (empty: keep the form's)."""
        return RECIPE_DEFAULTS.get(recipe or "", {})
