"""The seed documents' claims, each re-judged as a scenario."""
