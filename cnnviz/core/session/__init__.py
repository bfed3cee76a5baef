"""The app's one owner of state (``ModelSession``) and its events."""
