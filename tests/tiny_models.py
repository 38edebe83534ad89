"""Tiny random models built in code (config + in-code tokenizer): no download, load in under a second."""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

try:  # sentence-transformers >= 6
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
except ImportError:  # pragma: no cover - 5.x
    from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
from sentence_transformers import SentenceTransformer

WORDS = [
    "represent",
    "the",
    "a",
    "an",
    "statement",
    "sentence",
    "question",
    "document",
    "passage",
    "for",
    "retrieval",
    "retrieving",
    "classification",
    "scientific",
    "query",
    "supporting",
    "wikipedia",
    "caption",
    "news",
    "comment",
    "text",
    "hello",
    "world",
    "cats",
    "dogs",
    "rain",
    "sun",
    "good",
    "bad",
    "is",
    "are",
    "was",
    "on",
    "in",
    "of",
    "and",
    "to",
    "it",
    "this",
    "that",
    ":",
    ";",
    ",",
    ".",
    "?",
    "!",
    "input",
]


def word_tokenizer(eos: bool = True) -> PreTrainedTokenizerFast:
    """A word-level tokenizer; like T5's, it appends an end token (</s>) to every sequence."""
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = __import__("tokenizers").normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if eos:
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=512
    )


def tiny_instructor(folder: Path, out_dim: int = 8) -> Path:
    """A random T5 encoder in INSTRUCTOR's layout: Transformer, mean Pooling, Dense (no bias), Normalize."""
    hf = folder / "hf"
    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=16,
        d_kv=4,
        d_ff=32,
        num_layers=2,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    T5EncoderModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=512)
    dense = Dense(16, out_dim, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[transformer, Pooling(16, "mean"), dense, Normalize()], device="cpu")
    out = folder / "tiny-instructor"
    model.save(str(out))
    return out


def tiny_gpt2(folder: Path) -> Path:
    """A random 2-layer GPT-2 with the word-level tokenizer (no end token appended)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = word_tokenizer(eos=False)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=1024,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )
    out = folder / "tiny-gpt2"
    GPT2LMHeadModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (RoBERTa's kind: <s> ... </s>, spaces are part of tokens), trained in code."""
    from tokenizers import decoders, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [" ".join(WORDS), "Represent the statement: cats are good", "the sun and the rain"] * 20
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>"))
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=512,
    )


def tiny_roberta_bpe(folder: Path) -> Path:
    """A random 2-layer RoBERTa with the byte-level BPE tokenizer: Transformer, mean Pooling, Normalize."""
    from transformers import RobertaConfig, RobertaModel

    hf = folder / "hf-roberta"
    torch.manual_seed(0)
    tokenizer = bpe_tokenizer()
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=520,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    RobertaModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    model = SentenceTransformer(
        modules=[Transformer(str(hf), max_seq_length=512), Pooling(16, "mean"), Normalize()], device="cpu"
    )
    out = folder / "tiny-roberta-bpe"
    model.save(str(out))
    return out
