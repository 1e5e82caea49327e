# The finadvisor image (compose.yaml runs it as the app and as the Chroma server).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY bot bot
COPY knowledge knowledge
COPY api api
COPY cli cli
COPY prompts prompts
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 finadvisor \
    && mkdir -p /data /chroma \
    && chown finadvisor:finadvisor /data /chroma
USER finadvisor
WORKDIR /home/finadvisor
ENV FINADVISOR_DATA_DIR=/data

EXPOSE 8000
CMD ["finadvisor", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
