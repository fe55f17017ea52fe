"""Prefect tasks: one module per DAG step, each a thin wrapper around the library."""
