"""Workload -> FLOPs, memory, hours, energy and cost on an accelerator."""
