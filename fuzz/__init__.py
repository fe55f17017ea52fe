"""Fuzz targets for every parser of untrusted input (see ``fuzz.targets``).

The Hypothesis properties in ``tests/test_fuzz.py`` run them for a bounded
time; ``scripts/fuzz.py`` runs a longer coverage-guided atheris campaign.
"""
