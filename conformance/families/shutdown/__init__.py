"""A server stopped with connections open."""
