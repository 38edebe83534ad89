"""Choosing in-context demonstrations for prompt retrieval (INSTRUCTOR paper appendix B.2; the reference's
`evaluation/prompt_retrieval` scripts).

Pool and test inputs are embedded with the task instruction; the pool embeddings are mean-centred (minus
the pool's mean; test embeddings minus their own mean only for the tasks whose reference script does so).
Candidates are taken most-similar-first by cosine similarity, skipping exact duplicates of the test input
and demonstrations over the per-demonstration cap, while the prompt (demonstrations + test input) stays
within the token budget, up to a maximum count; the chosen ones are placed least-to-most similar, so the
most similar sits right before the test input. Some scripts first cut the candidate list to its top N
(Amazon and CivilComments 2, CODA 16) and then walk only those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.benchmarks.prompt_retrieval.spec import PromptProtocol

DUPLICATE = 1 - 1e-6  # cosine at or above this: the same text as the test input


@dataclass(frozen=True)
class Budget:
    total_tokens: int = 1000
    per_demonstration: int | None = 250
    candidates: int | None = None  # walk only the first N candidates (the reference's sorted_indices[-N:])
    skip_duplicates: bool = True

    @classmethod
    def from_protocol(cls, protocol: PromptProtocol) -> Budget:
        """A prompt-retrieval task's budget, as its task file states it."""
        return cls(
            protocol.token_budget,
            protocol.per_demonstration_tokens,
            protocol.candidates,
            protocol.skip_duplicates,
        )


def mean_centre(vectors: np.ndarray) -> np.ndarray:
    return vectors - vectors.mean(axis=0, keepdims=True)


def cosine(test: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Rows of `test` against rows of `pool` (eps as torch.nn.CosineSimilarity's 1e-6)."""
    norms = np.linalg.norm(test, axis=1, keepdims=True) * np.linalg.norm(pool, axis=1)[None, :]
    return (test @ pool.T) / np.maximum(norms, 1e-6)


def most_similar_first(scores: np.ndarray) -> np.ndarray:
    """The reference iterates `np.argsort(scores)` from its end; stable sorting makes ties deterministic."""
    return np.argsort(scores, kind="stable")[::-1]


def select(order: np.ndarray, scores: np.ndarray, lengths: list[int], test_length: int, budget: Budget) -> list[int]:
    """Pool indices in prompt order (least to most similar). `order` is the candidate order: most similar
    first for retrieved demonstrations, a random permutation for the random baseline."""
    chosen: list[int] = []
    used = test_length
    for i in order[: budget.candidates]:
        i = int(i)
        if budget.skip_duplicates and scores[i] >= DUPLICATE:
            continue
        if budget.per_demonstration is not None and lengths[i] > budget.per_demonstration:
            continue
        if used + lengths[i] > budget.total_tokens:
            break
        chosen.append(i)
        used += lengths[i]
    return chosen[::-1]
