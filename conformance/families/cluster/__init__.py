"""One app across several instances (processes or workers) sharing a broker."""
