"""The check families: each a folder with its catalogue entries (catalogue.py) beside the probes
and judges that decide them. Families use the engine and never each other."""
