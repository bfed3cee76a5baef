"""The application: launch, the main window and what its menus, toolbar and status bar do."""
