# The jobs' image (capacity monitor, capacity retrain): the whole package with its training
# side (MLflow, LightGBM, Dask), unlike the bento, which ships the runtime only.
#   docker build -f deploy/docker/trainer.Dockerfile -t capacity-trainer:0.1.0 .
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true BENTOML_DO_NOT_TRACK=True
RUN useradd --uid 1034 --create-home capacity
WORKDIR /app
COPY pyproject.toml README.md ./
COPY features ./features
COPY serving ./serving
COPY training ./training
RUN pip install .
USER 1034
ENTRYPOINT []
CMD ["capacity", "--help"]
