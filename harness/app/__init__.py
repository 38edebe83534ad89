"""The top layer: what composes the layers below into a run. `runner` (the run loop: plan, pre-flight, evaluate,
resume), `api` (the Python API and the preparation every command shares), `launch` (Ray and Slurm). It alone
imports `models`, `benchmarks` and `reports` together; `cli` calls it."""
