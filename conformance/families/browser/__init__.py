"""What a page in a browser sees of each lifecycle outcome."""
