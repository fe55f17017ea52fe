"""The kinds of evidence a policy can trust; each has its own policy type and policy-file table."""

KIND_GENERATOR = "slsa-github-generator"  # SLSA v0.2 provenance from the SLSA generic generator
KIND_GITHUB_ATTESTATION = "github-attestation"  # SLSA v1 GitHub artifact attestations
KIND_LOCAL = "local-builder"  # key-signed SLSA v1 provenance from our local builder
KIND_OMS = "oms"  # OpenSSF Model Signing signatures (model_signing: key, certificate, Sigstore)

# The OIDC issuer of GitHub Actions tokens: whom the two GitHub kinds trust by default.
GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

KINDS = (KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL, KIND_OMS)
