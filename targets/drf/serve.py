"""Starts the DRF target: `target/pyenv/bin/python targets/drf/serve.py [--db PATH]`.

Migrates a fresh SQLite database, binds 127.0.0.1:0 itself, hands the socket to waitress
(8 threads), prints `listening on http://127.0.0.1:PORT`, exits on SIGTERM or when stdin closes.
See targets/README.md.
"""

import os
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "common"))

from racebench_target import announce, bind, exit_with_parent, log, parse_args  # noqa: E402

THREADS = 8
# Far above a load test's users (waitress's default is 100: user 101 would wait for a free slot).
CONNECTION_LIMIT = 1000


def main(settings="drftarget.settings", name="drf"):
    """Serves the Django project `settings` (targets/drf_session passes its own)."""
    args = parse_args(f"racebench Django REST framework target ({name})")
    os.environ["RACEBENCH_DRF_DB"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)

    from django.core.wsgi import get_wsgi_application
    from waitress import create_server

    from notes.identity import SWITCH

    sock = bind()
    exit_with_parent()
    server = create_server(
        get_wsgi_application(),
        sockets=[sock],
        threads=THREADS,
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,  # poll(), not select(): no 1024 file descriptor ceiling
    )
    log(f"{name}: db {args.db}; {THREADS} threads; {SWITCH.describe()}")
    announce(sock)
    server.run()


if __name__ == "__main__":
    main()
