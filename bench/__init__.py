"""Benchmarks of llmhub against its peers, run on demand: `python3 dev.py bench`.

Each measurement runs llmhub and the peers in the same run, on this machine,
against a loopback OpenAI-style server in its own process, and reports medians
and ratios (llmhub / peer). Not run in CI; nothing here is asserted.
"""
