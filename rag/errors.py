"""The errors a user can meet. Each message says what to do next."""


class RagError(Exception):
    """Base class: the CLI and UI print the message, never a traceback."""


class ConfigError(RagError):
    pass


class IndexMismatchError(RagError):
    """The index on disk was built with another embedder, chunking or format."""


class LoadError(RagError):
    """A document could not be read (unsupported, unreadable or empty)."""


class ModelError(RagError):
    """A model could not be found, assembled or loaded."""


class MissingDependency(RagError):
    def __init__(self, module: str, package: str):
        super().__init__(
            f"{module} is not installed. Install it with: pip install '{package}'"
        )
