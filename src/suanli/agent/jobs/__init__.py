"""Real workloads for demos, tests and benchmarks."""
