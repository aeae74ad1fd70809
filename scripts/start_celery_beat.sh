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

# shellcheck source=scripts/_celery_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_celery_env.sh"

DATA_DIR="${DATA_DIR:-$ROOT/data}"
export DATA_DIR
mkdir -p "$DATA_DIR"

exec "${CELERY[@]}" -A consultantos.jobs.celery_app beat \
    -s "$DATA_DIR/celerybeat-schedule" \
    -l "${LOG_LEVEL:-info}" \
    "${LOG_ARGS[@]}" \
    "$@"
