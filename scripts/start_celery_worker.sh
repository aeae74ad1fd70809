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

# shellcheck source=scripts/_celery_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_celery_env.sh"

exec "${CELERY[@]}" -A consultantos.jobs.celery_app worker \
    -Q "${QUEUES:-critical,high,normal,low}" \
    -c "${CONCURRENCY:-4}" \
    -l "${LOG_LEVEL:-info}" \
    -n "${WORKER_NAME:-worker@%h}" \
    "${LOG_ARGS[@]}" \
    "$@"
