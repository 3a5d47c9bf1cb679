"""Benchmark of the hjepa plugin: route latency and TensorBoard overhead.

Run: ``python -m benchmarks.plugin_latency`` (see ``__main__``).
"""
