"""An app with its own [tool.wsconform] (its pyproject.toml), in a folder of its own."""
