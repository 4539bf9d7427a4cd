"""Tools around the suite: the regression atlas, the flake finder, the upstream watch."""
