# Shared by start_celery_worker.sh and start_celery_beat.sh (sourced, not run): resolves paths,
# moves to the repo root and finds the interpreter and celery to exec.
#
# Sets ROOT, PYTHON, CELERY (an array: the command that runs celery) and LOG_ARGS (--logfile
# when CELERY_LOG_FILE is set); DATA_DIR and CELERY_LOG_FILE become absolute paths.

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
    echo "$0: no celery script next to $PYTHON; SIGHUP restarts will not work" >&2
    CELERY=("$PYTHON" -m celery)
fi

LOG_ARGS=()
if [[ -n "${CELERY_LOG_FILE:-}" ]]; then
    mkdir -p "$(dirname "$CELERY_LOG_FILE")"
    LOG_ARGS=(--logfile "$CELERY_LOG_FILE")
fi
