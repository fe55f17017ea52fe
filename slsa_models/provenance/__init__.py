"""Provenance the local builder writes: SLSA v1 statements, DSSE-signed, as Sigstore bundles."""
