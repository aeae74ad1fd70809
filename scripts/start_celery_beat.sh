#!/usr/bin/env bash
# Start Celery Beat (the scheduler) of ConsultantOS in the foreground. Run exactly one.
#
#   LOG_LEVEL        debug, info, warning, error, critical   (default info)
#   DATA_DIR         where the schedule file is kept         (default ./data, from the repo root)
#   CELERY_LOG_FILE  log to this file instead of stderr, e.g. /var/log/celery/beat.log
#   PYTHON           interpreter (default: the project's .venv, else python3)
#   REDIS_URL...     read by the app itself (consultantos/config.py)
# Extra arguments go to `celery beat`.
#
# The script exec's celery, so SIGTERM reaches Beat directly and `pkill -f "celery.*beat"`
# finds it.
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
CELERY=("$PYTHON" "$(dirname "$PYTHON")/celery")
[[ -f "${CELERY[1]}" ]] || CELERY=("$PYTHON" -m celery)

DATA_DIR="${DATA_DIR:-$ROOT/data}"
export DATA_DIR
mkdir -p "$DATA_DIR"

LOG_ARGS=()
if [[ -n "${CELERY_LOG_FILE:-}" ]]; then
    mkdir -p "$(dirname "$CELERY_LOG_FILE")"
    LOG_ARGS=(--logfile "$CELERY_LOG_FILE")
fi

exec "${CELERY[@]}" -A consultantos.jobs.celery_app beat \
    -s "$DATA_DIR/celerybeat-schedule" \
    -l "${LOG_LEVEL:-info}" \
    "${LOG_ARGS[@]}" \
    "$@"
