"""Keeping the data useful and small: daily rollups of snapshots (`aggregate`) and the retention
cleanup (`cleanup`). Plain functions; the Beat-scheduled tasks in consultantos.jobs.tasks call
them."""
