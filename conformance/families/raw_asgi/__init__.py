"""Raw ASGI messages a framework never sends, and what a server does with them."""
