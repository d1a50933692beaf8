"""Prepare and serve the whole development stack: web, Celery worker and beat.

Runs migrations, loads the demo data, makes sure a development admin exists,
then starts the three processes in the foreground. Ctrl-C stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop.services import dev_admin_ensure

DEV_ADMIN = {"username": "admin", "email": "admin@example.com", "password": "kervan-admin"}


class Command(BaseCommand):
    help = "Migrate, seed the demo shop and serve it with a Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Address for runserver.")
        parser.add_argument("--skip-seed", action="store_true", help="Do not load demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("run_shop is for development (DEBUG=True) only.")
        call_command("migrate", interactive=False, verbosity=1)
        if not options["skip_seed"]:
            call_command("seed_demo")
        created = dev_admin_ensure(**DEV_ADMIN)
        state = "created" if created else "already exists"
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin ({state}): http://{options['addr']}/admin/  "
                f"user {DEV_ADMIN['username']!r}  password {DEV_ADMIN['password']!r}"
            )
        )
        python = sys.executable
        schedule = settings.BASE_DIR / ".data" / "celerybeat-schedule"
        commands = {
            "web": [python, "manage.py", "runserver", options["addr"]],
            "worker": [python, "-m", "celery", "-A", "shop", "worker", "-l", "info", "-c", "2"],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "shop",
                "beat",
                "-l",
                "info",
                "-s",
                str(schedule),
            ],
        }
        # Each in its own process group, so that stopping one also stops what
        # it started (runserver's reloader child, Celery's pool processes).
        processes = {
            name: subprocess.Popen(argv, start_new_session=True) for name, argv in commands.items()
        }
        self.stdout.write(f"Serving on http://{options['addr']}/ — press Ctrl-C to stop.")
        # Also when started with SIGINT ignored (e.g. from a background job).
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; shutting the others down.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            _stop_all(list(processes.values()))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        # Whatever the group leader left behind goes with it.
        _signal_group(process, signal.SIGKILL)
