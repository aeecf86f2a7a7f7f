"""Baton's benchmark: ingest throughput and latency, end-to-end latency, API cost, memory.

Run with `.venv/bin/python -m bench` (see docs/performance.md).
"""
