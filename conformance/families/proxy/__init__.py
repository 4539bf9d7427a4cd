"""A reverse proxy in front of a server: what it passes through, and what its limits tell the
client and the app."""
