"""The conformance test modules pytest collects (`pytest conformance`): one per family, each a thin
driver of the family's probes through the engine and the gate."""
