"""Prefect flows. Importing this package turns telemetry off unless the user set it, and gives
Prefect's ephemeral server (``python -m flows.<name>`` without a server) 90 s to start on a
busy machine instead of failing after the default 20 s."""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
