#!/usr/bin/env bash
# Start one Celery worker of ConsultantOS in the foreground (spec/celery_operations_guide.md).
#
#   CONCURRENCY      worker processes                        (default 4)
#   LOG_LEVEL        debug, info, warning, error, critical   (default info)
#   QUEUES           queues consumed, most urgent first      (default critical,high,normal,low)
#   WORKER_NAME      node name; set it when several workers share a host (default worker@%h)
#   CELERY_LOG_FILE  log to this file instead of stderr, e.g. /var/log/celery/worker.log
#   PYTHON           interpreter (default: the project's .venv, else python3)
#   REDIS_URL, DATABASE_URL, DATA_DIR...  read by the app itself (consultantos/config.py)
# Extra arguments go to `celery worker`, e.g. --autoscale=10,3.
#
# The script exec's celery, so the worker is this very process: SIGTERM is a warm shutdown
# (running tasks finish), SIGHUP a restart, and `pkill -f "celery.*worker"` finds it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Paths given relative to where the script was started from stay so after the cd below.
abspath() { if [[ "$1" = /* ]]; then printf '%s' "$1"; else printf '%s/%s' "$PWD" "$1"; fi; }
if [[ -n "${DATA_DIR:-}" ]]; then DATA_DIR="$(abspath "$DATA_DIR")"; export DATA_DIR; fi
if [[ -n "${CELERY_LOG_FILE:-}" ]]; then CELERY_LOG_FILE="$(abspath "$CELERY_LOG_FILE")"; fi
# From the repo root, as `consultantos up`: the same .env and default DATA_DIR (./data).
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
PYTHON="$(command -v "$PYTHON")" || { echo "$0: python interpreter not found" >&2; exit 127; }
# `python .../bin/celery`, not `python -m celery`: on SIGHUP celery re-executes its own argv,
# which fails when that argv is celery/__main__.py.
CELERY=("$PYTHON" "$(dirname "$PYTHON")/celery")
if [[ ! -f "${CELERY[1]}" ]]; then
    echo "start_celery_worker.sh: no celery script next to $PYTHON; SIGHUP restarts will not work" >&2
    CELERY=("$PYTHON" -m celery)
fi

LOG_ARGS=()
if [[ -n "${CELERY_LOG_FILE:-}" ]]; then
    mkdir -p "$(dirname "$CELERY_LOG_FILE")"
    LOG_ARGS=(--logfile "$CELERY_LOG_FILE")
fi

exec "${CELERY[@]}" -A consultantos.jobs.celery_app worker \
    -Q "${QUEUES:-critical,high,normal,low}" \
    -c "${CONCURRENCY:-4}" \
    -l "${LOG_LEVEL:-info}" \
    -n "${WORKER_NAME:-worker@%h}" \
    "${LOG_ARGS[@]}" \
    "$@"
