# Softmax gradient demo: the Streamlit app, served on port 8501.
#   docker build -t softmax-demo .
#   docker run --rm -p 127.0.0.1:8501:8501 softmax-demo
#
# Reproducible: the base image is a build argument, to be pinned by digest where the registry gives
# one (deploy/README.md, "Reproducible builds"):
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> -t softmax-demo .
# and the Python packages come from requirements.lock, every file checked against its sha256
# (regenerate with `bash deploy/lock.sh`).

ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# The server runs as this user (fixed uid); /app stays root-owned and read-only to it.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/app --shell /usr/sbin/nologin app

# Dependencies first, so that editing the app does not reinstall them. --require-hashes: every
# package, dependencies included, must be in the lock with its version and hash, or the build fails.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && pip check \
    && rm /tmp/requirements.lock

# Only what the app needs, one line per top-level file or package the page imports. A new one
# (e.g. viz/) goes here AND in .dockerignore's list of what enters the build context.
COPY app.py ./
COPY softmax/ ./softmax/
COPY ui/ ./ui/
COPY viz/ ./viz/
COPY .streamlit/ ./.streamlit/

USER 10001:10001

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
