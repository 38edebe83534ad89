"""instructor-harness: reproduce, compare and stress instruction-conditioned text embeddings."""

__version__ = "0.1.0"
