"""wsconform: property and conformance tests of the WebSocket lifecycle of ASGI apps and servers."""
