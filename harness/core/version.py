"""The harness's version (the package's, `pyproject.toml` reads it here), in core so that every layer can name it."""

__version__ = "0.1.0"
