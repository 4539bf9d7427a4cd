"""The wire: frames written and read by hand, and handshakes no client library would send."""
