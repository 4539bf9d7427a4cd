"""The websocket scope a server builds, against the spec's definitions."""
