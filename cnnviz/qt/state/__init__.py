"""The Qt face of the session: signals every panel subscribes to, and background work."""
