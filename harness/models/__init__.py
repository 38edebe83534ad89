"""Models behind small protocols: the text encoder (`protocol.TextEncoder`), its embedding cache as a wrapper
(`cache.CachedEncoder`), and the causal LM that prompt retrieval scores with (`lm.CausalLM`)."""
