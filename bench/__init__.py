"""Baton's benchmark: ingest throughput, latency and CPU, end-to-end latency, API cost, memory.

Run with `.venv/bin/python -m bench` (see docs/performance.md).
"""
