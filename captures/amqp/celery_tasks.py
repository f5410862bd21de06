"""Celery tasks for more_consumers.py's `celery` scenario (a real `celery worker`, solo pool).

`early` acknowledges on receipt (Celery's default, acks_late=False): the broker sees
basic.ack before the work starts. `late` (acks_late=True) acknowledges after the work;
a Reject exception answers basic.reject. Each task appends its own start and end to the
file named by CELERY_TASK_LOG.
"""
import json
import os
import time

from celery import Celery
from celery.exceptions import Reject

app = Celery("celery_tasks", broker=f"amqp://guest:guest@127.0.0.1:{os.environ.get('AMQP_FIXTURE_PORT', '5682')}//")
app.conf.update(
    worker_prefetch_multiplier=2,
    task_routes={"celery_tasks.early": {"queue": "celery-early"}, "celery_tasks.late": {"queue": "celery-late"}},
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


def log(task, queue, sleep_ms, answer, seq, start):
    with open(os.environ["CELERY_TASK_LOG"], "a") as f:
        f.write(json.dumps(dict(queue=queue, delivery_tag=task.request.delivery_info.get("delivery_tag"),
                                sleep_ms=sleep_ms, answer=answer, seq=seq, start=start, end=time.time())) + "\n")


@app.task(bind=True, acks_late=False)
def early(self, sleep_ms, answer, seq):
    start = time.time()
    time.sleep(sleep_ms / 1000.0)
    log(self, "celery-early", sleep_ms, answer, seq, start)


@app.task(bind=True, acks_late=True)
def late(self, sleep_ms, answer, seq):
    start = time.time()
    time.sleep(sleep_ms / 1000.0)
    log(self, "celery-late", sleep_ms, answer, seq, start)
    if answer == "reject":
        raise Reject("rejected by the task", requeue=False)
