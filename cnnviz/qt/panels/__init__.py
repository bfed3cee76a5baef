"""The panels: each follows the app state it shows and never imports another panel."""
