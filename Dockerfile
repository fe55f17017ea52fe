# The serving image: the light slsa-models library and its command line, nothing else.
#
# It runs `slsa-models pull` in front of any model server (an init container, or KServe's
# storage initializer: examples/kubernetes/) and `python -m flows.*` never: no Prefect, no
# TensorFlow, no PyTorch. The core dependencies (boto3, cryptography, sigstore, tqdm) are
# installed from requirements/publish.txt, hash-locked for CPython 3.11 on x86-64 Linux.
#
#   docker build -t slsa-models .
#   docker run --rm slsa-models pull --help
#
# The base is pinned by tag here: no registry could be asked for its digest where this was
# written. For a reproducible build pin the digest you reviewed (the multi-platform index's):
#   docker buildx imagetools inspect python:3.11-slim
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> -t slsa-models .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/slsa-models
COPY requirements/publish.txt /src/requirements/publish.txt
RUN /opt/slsa-models/bin/pip install --require-hashes --no-deps -r /src/requirements/publish.txt
COPY pyproject.toml README.md /src/
COPY slsa_models /src/slsa_models
# no extras: the light library only (never .[tensorflow], .[torch], .[pipeline] or .[all])
RUN /opt/slsa-models/bin/pip install --no-deps --no-build-isolation /src \
    && /opt/slsa-models/bin/slsa-models --version

# -- target `pipeline`: the serving image plus Prefect, PyTorch (CPU) and the flows, for the
# kubernetes work pool of prefect.yaml (its *-kubernetes deployments). Not the default target:
#   docker build --target pipeline -t slsa-models:0.1.0-pipeline .
# Add tensorflow to PIPELINE_EXTRAS for Keras models (the deploy flow smoke-loads them).
FROM ${PYTHON_IMAGE} AS pipeline
ARG PIPELINE_EXTRAS=pipeline,torch
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /opt/slsa-models /opt/slsa-models
COPY --from=build /src /src
RUN /opt/slsa-models/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        "slsa-models[${PIPELINE_EXTRAS}] @ file:///src" \
    && rm -rf /src
COPY prefect.yaml /opt/slsa-models/app/prefect.yaml
COPY flows /opt/slsa-models/app/flows
COPY tasks /opt/slsa-models/app/tasks
ENV PATH=/opt/slsa-models/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    HOME=/tmp \
    PREFECT_HOME=/tmp/prefect \
    SLSA_MODELS_HOME=/tmp/slsa-models \
    SLSA_MODELS_CHECKOUT=/opt/slsa-models/app
RUN groupadd --system --gid 10001 slsa-models \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin slsa-models
USER 10001:10001
WORKDIR /opt/slsa-models/app

# -- the default target: the serving image (the light library only) ---------------------------
FROM ${PYTHON_IMAGE} AS serving
COPY --from=build /opt/slsa-models /opt/slsa-models
ENV PATH=/opt/slsa-models/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    SLSA_MODELS_HOME=/tmp/slsa-models
# A fixed non-root uid/gid, so a pod's runAsNonRoot can check it; no home, no shell.
RUN groupadd --system --gid 10001 slsa-models \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin slsa-models
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["slsa-models"]
CMD ["--help"]
