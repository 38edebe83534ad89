"""The benchmarks: one package each (`mteb`, `billboard`, `prompt_retrieval`), exposing `BENCHMARK`, found and
imported on first use by `harness.core.benchmark.get_benchmark`. Each owns its task-spec type, its settings and
flags, its data checks, evaluation, mirror and result folders; nothing outside its package names it."""
