"""The engine: the client vocabulary, the lifecycle model, sessions on a transport, results, the
baseline gate, the options and profiles, the lock. It knows no check family."""
