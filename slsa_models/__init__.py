"""slsa-models: prove that the model you serve is the model a known workflow built."""

__version__ = "0.1.0"
