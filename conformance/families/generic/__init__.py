"""Generic checks of any app's routes (`wsconform run`, `--app`, `--url`)."""
