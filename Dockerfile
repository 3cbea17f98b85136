# One image for every childlink service. The command picks the service, e.g.
#   nameko run --config deploy/nameko/config.yaml childlink_health.service
# (docker-compose.yml sets it per service). Nothing secret is baked in: broker URIs, API keys and
# the MongoDB URI come from the environment at run time.

ARG PYTHON_IMAGE=python:3.13-slim

# --- manifests: only the files that decide the dependency set, so that the dependency layer below
# is rebuilt when pyproject.toml / uv.lock change, not on every source edit. Found with `find` so a
# new workspace member (services/*) needs no change here.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
    && find . \( -name pyproject.toml -o -name uv.lock -o -name .python-version \) -not -path './.venv/*' -print0 \
       | tar --null -cf - -T - | tar -xf - -C /manifests

# --- build: uv from PyPI, then `uv sync --frozen --no-dev` of the workspace into /app/.venv.
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
# No BuildKit-only syntax (cache mounts), so the classic builder that docker-compose 1.29 may use
# builds it too; UV_NO_CACHE keeps uv's download cache out of the layers.
ENV UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.13 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Third-party dependencies first (cached while the lock is unchanged).
COPY --from=manifests /manifests/ ./
RUN uv sync --frozen --no-dev --no-install-workspace
# Then the workspace members themselves (installed editable: their source stays under /app, so
# package data such as contracts/generated/ is found where the code expects it).
COPY . .
RUN uv sync --frozen --no-dev \
    && /app/.venv/bin/python -c "import childlink_common, childlink_referral, childlink_tools, nameko"

# --- runtime: no uv, no build tools, a non-root user that cannot write the code.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 childlink \
    && useradd --system --uid 10001 --gid childlink --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin childlink \
    && mkdir -p /var/lib/childlink \
    && chown childlink:childlink /var/lib/childlink
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHILDLINK_DATA_DIR=/var/lib/childlink \
    WEB_SERVER_ADDRESS=0.0.0.0:8000
USER childlink:childlink
EXPOSE 8000
# No default service: say which one to run.
CMD ["python", "-c", "import sys; sys.exit('childlink image: give a command, e.g. nameko run --config deploy/nameko/config.yaml childlink_<social|education|health|medical|referral>.service')"]
