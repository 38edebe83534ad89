"""The language model that uses the retrieved demonstrations: any Hugging Face causal LM.

Label and multiple-choice tasks: MetaICL's "direct" method, as the reference ran it: the prompt is the
demonstrations (input, "\n" + output; inputs after the first prefixed "\n\n\n") then the test input, each
piece tokenized on its own; each option ("\n" + option) is scored by its mean per-token cross-entropy given
the prompt, and the lowest wins. Demonstration inputs are cut to fit 256 tokens with their output, the test
input keeps its last tokens, and the context is cut from the left to fit 1,024 tokens.
Generation tasks: greedy decoding within the model's window, cut at the first stop string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.core.errors import ModelError
from harness.core.interfaces import Demo

MAX_LENGTH, MAX_PER_EXAMPLE = 1024, 256


def check_causal_lm(name: str, revision: str | None = None) -> None:
    """From the config alone, before any weights load: the model generates text (an embedding model passed as
    --lm used to end in a transformers traceback)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    from harness.models.resolve import resolve_model

    folder = resolve_model(name, revision).folder
    try:
        config = AutoConfig.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise ModelError(f"LM {name!r}: no readable config.json in {folder} ({exc})") from None
    architectures = list(getattr(config, "architectures", None) or [])
    causal = (
        any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
        if architectures
        else config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    )
    if not causal:
        raise ModelError(
            f"--lm {name!r} is not a causal language model (architectures: {', '.join(architectures) or config.model_type}): "
            "pass a text-generation model such as EleutherAI/gpt-j-6B; the embedding model goes to --model"
        )


class CausalLM:
    def __init__(
        self,
        name: str,
        *,
        revision: str | None = None,
        device: str | None = None,
        precision: str = "fp32",
        batch_size: int = 8,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from harness.models.resolve import resolve_model

        check_causal_lm(name, revision)
        folder, self.revision, _ = resolve_model(name, revision)
        self.name = name
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if precision != "fp32" and self.device == "cpu":
            raise ModelError(f"LM precision {precision} needs a GPU; on CPU use fp32")
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size
        self.torch = torch

    @property
    def window(self) -> int:
        """Most tokens the model attends to (prompt and generated text together)."""
        config = self.model.config
        positions = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
        return int(positions) if positions else MAX_LENGTH

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "revision": self.revision}

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def context(self, demos: Sequence[Demo], test_input: str) -> list[int]:
        tokens: list[int] = []
        for n, demo in enumerate(demos):
            out = self.ids("\n" + demo.output)
            inp = self.ids(("\n\n\n" if n else "") + demo.input)[: max(MAX_PER_EXAMPLE - 2 - len(out), 0)]
            tokens += inp + out
        test = self.ids(("\n\n\n" if demos else "") + test_input)
        return tokens + test[-(MAX_PER_EXAMPLE - 2) :]

    def option_losses(self, contexts: list[list[int]], options: list[str]) -> np.ndarray:
        """[n_contexts, n_options] mean cross-entropy of each option's tokens after each context."""
        option_ids = [self.ids("\n" + o) for o in options]
        rows = []
        for ctx in contexts:
            for opt in option_ids:
                keep = MAX_LENGTH - len(opt)
                rows.append((ctx[-keep:] if len(ctx) > keep else ctx, opt))
        losses = []
        for start in range(0, len(rows), self.batch_size):
            losses += self._losses(rows[start : start + self.batch_size])
        return np.array(losses).reshape(len(contexts), len(options))

    def _losses(self, rows: list[tuple[list[int], list[int]]]) -> list[float]:
        torch = self.torch
        width = max(len(c) + len(o) for c, o in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        target = torch.full_like(ids, -100)
        for r, (ctx, opt) in enumerate(rows):
            seq = ctx + opt
            ids[r, : len(seq)] = torch.tensor(seq)
            mask[r, : len(seq)] = 1
            target[r, len(ctx) : len(seq)] = torch.tensor(opt)
        with torch.no_grad():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
        logits, target = logits[:, :-1], target[:, 1:].to(self.device)
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
        counts = (target != -100).sum(dim=1)
        return (ce.sum(dim=1) / counts).tolist()

    def generate(self, context: list[int], max_new_tokens: int, stop: Sequence[str]) -> str:
        """The greedy continuation up to the first stop string, unstripped (MultiWOZ parses its leading space)."""
        return self.text(self.generate_ids(context, max_new_tokens), stop)

    def generate_ids(self, context: list[int], max_new_tokens: int) -> list[int]:
        """Greedy continuation token ids (up to the end token or max_new_tokens)."""
        torch = self.torch
        ctx = context[-(self.window - max_new_tokens) :]  # the caller's budget normally leaves room already
        with torch.no_grad():
            out = self.model.generate(
                torch.tensor([ctx], device=self.device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                attention_mask=torch.ones((1, len(ctx)), device=self.device),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return [int(i) for i in out[0, len(ctx) :]]

    def text(self, ids: list[int], stop: Sequence[str]) -> str:
        text = str(self.tokenizer.decode(ids, skip_special_tokens=True))
        cut = min((text.find(s) for s in stop if s in text), default=len(text))
        return text[:cut]

    def pieces(self, ids: list[int]) -> list[str]:
        """Each token decoded on its own (what batch_decode of the ids as a column gives)."""
        return [str(self.tokenizer.decode([i], skip_special_tokens=True)) for i in ids]


class LocalModels:
    """`LanguageModels` from the hub or local folders (the packaged implementation)."""

    def check(self, name: str) -> None:
        check_causal_lm(name)

    def load(self, name: str, *, device: str | None, precision: str, batch_size: int) -> CausalLM:
        return CausalLM(name, device=device, precision=precision, batch_size=batch_size)

    def revision(self, name: str) -> str:
        from harness.models.resolve import resolve_model

        return resolve_model(name).revision  # a hub commit or a local folder's digest: its bytes
