"""The task run log: what ran, when, how long, with what result, and how far."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from shop.models import TaskRun
from shop.task_runs import acted, quiet_task_names, schedule_rows, task_progress, task_runs_prune


@shared_task(name="tests.count_to")
def count_to(total: int) -> dict[str, int]:
    for done in range(total + 1):
        task_progress(done, total)
    return {"written": total}


@shared_task(name="tests.refuse")
def refuse() -> None:
    raise ValueError("The partner server refused the file.")


def finished_run(task_id: str) -> TaskRun:
    """The run once the worker has recorded its end (just after the result is stored)."""
    deadline = time.monotonic() + 10
    while True:
        run = TaskRun.objects.filter(task_id=task_id).first()
        if (run and run.finished_at) or time.monotonic() > deadline:
            assert run is not None
            return run
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_is_logged_with_its_result_duration_and_progress(celery_worker):
    result = count_to.delay(7)
    assert result.get(timeout=20) == {"written": 7}

    run = finished_run(result.id)
    assert run.task_name == "tests.count_to"
    assert run.state == TaskRun.State.SUCCESS
    assert run.result == '{"written": 7}'
    assert (run.done, run.total, run.percent) == (7, 7, 100)
    assert run.finished_at >= run.started_at


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_run_keeps_its_error_for_support(celery_worker):
    result = refuse.delay()
    with pytest.raises(ValueError):
        result.get(timeout=20)

    run = finished_run(result.id)
    assert run.state == TaskRun.State.FAILURE
    assert run.error.startswith("ValueError: The partner server refused the file.")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_frequent_scheduled_tasks_are_logged_only_when_they_act(celery_worker):
    from orders.tasks import outbox_process

    assert "orders.tasks.outbox_process" in quiet_task_names()
    assert "pricing.tasks.update_exchange_rates" not in quiet_task_names()

    assert outbox_process.delay().get(timeout=20) == 0  # nothing to hand on

    assert not TaskRun.objects.filter(task_name="orders.tasks.outbox_process").exists()


@pytest.mark.parametrize(
    ("result", "did"),
    [
        (None, False),
        (0, False),
        (3, True),
        ({"contexts_rebuilt": 0, "written": 0, "seconds": 0.09, "skipped": False}, False),
        ({"contexts_rebuilt": 0, "written": 12, "seconds": 0.2, "skipped": False}, True),
        ([{"marketplace": "trendyol-tr", "busy": False, "events": 0, "errors": []}], False),
        ([{"marketplace": "trendyol-tr", "busy": False, "events": 0, "deferred": "429"}], True),
        (["KRV-2026-000001"], True),
    ],
)
def test_what_counts_as_having_acted(result, did):
    assert acted(result) is did


@pytest.mark.django_db
def test_old_runs_are_pruned():
    now = timezone.now()
    for days in (1, 40):
        TaskRun.objects.create(
            task_name="tests.count_to",
            task_id=f"run-{days}",
            state=TaskRun.State.SUCCESS,
            started_at=now - timedelta(days=days),
        )

    assert task_runs_prune(keep_days=30) == 1
    assert list(TaskRun.objects.values_list("task_id", flat=True)) == ["run-1"]


@pytest.mark.django_db
def test_the_admin_shows_the_schedule_last_runs_and_progress(admin_client):
    started = timezone.now()
    TaskRun.objects.create(
        task_name="pricing.tasks.update_exchange_rates",
        task_id="rates-1",
        state=TaskRun.State.FAILURE,
        started_at=started,
        finished_at=started + timedelta(seconds=3),
        error="ConnectionError: the ECB did not answer",
    )
    TaskRun.objects.create(
        task_name="tests.count_to",
        task_id="long-1",
        state=TaskRun.State.RUNNING,
        started_at=started,
        done=250,
        total=1000,
    )

    page = admin_client.get("/admin/shop/taskrun/").content.decode()

    assert "update-exchange-rates" in page
    assert "cron 30 16 * * mon-fri" in page
    assert "ConnectionError: the ECB did not answer" in page
    assert '<progress value="250" max="1000"' in page
    assert "250 / 1000" in page and "25 %" in page
    assert "update_exchange_rates (pricing)" in page
    assert 'http-equiv="refresh"' in page  # moves by itself while something runs
    rows = {row["name"]: row for row in schedule_rows()}
    assert rows["update-exchange-rates"]["last"].task_id == "rates-1"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_superuser_runs_a_scheduled_task_now(admin_client, celery_worker):
    response = admin_client.post("/admin/shop/taskrun/run/prune-task-runs/")
    assert response.status_code == 302

    deadline = time.monotonic() + 20
    while not TaskRun.objects.filter(task_name="shop.tasks.task_runs_prune").exists():
        assert time.monotonic() < deadline, "the task never ran"
        time.sleep(0.1)
    run = finished_run(TaskRun.objects.get(task_name="shop.tasks.task_runs_prune").task_id)
    assert run.state == TaskRun.State.SUCCESS

    unknown = admin_client.post("/admin/shop/taskrun/run/nothing-like-it/", follow=True)
    assert "There is no scheduled task nothing-like-it." in unknown.content.decode()
