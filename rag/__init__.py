"""A local, private question-answering chatbot over your own documents.

    import rag
    bot = rag.open("index/")
    bot.ingest(["docs/"])
    answer = bot.ask("What did Meta plan to spend on capex in 2025?")
"""

from .config import Settings, load_settings
from .errors import ConfigError, IndexMismatchError, LoadError, ModelError, RagError
from .pipeline import Bot, open
from .types import Answer, Chunk, Citation, Document, Hit, IndexedFile, Timings

__all__ = ["Answer", "Bot", "Chunk", "Citation", "ConfigError", "Document", "Hit", "IndexMismatchError",
           "IndexedFile", "LoadError", "ModelError", "RagError", "Settings", "Timings", "evaluate",
           "load_settings", "open"]


def evaluate(bot, cases, **kwargs):
    """Score a Bot on question cases; see rag.eval."""
    from .eval.harness import evaluate as _evaluate
    return _evaluate(bot, cases, **kwargs)
