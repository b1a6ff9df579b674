"""Starts the FastAPI target: `target/pyenv/bin/python targets/fastapi/serve.py [--db PATH]`.

Binds 127.0.0.1:0 itself, hands the socket to uvicorn, prints `listening on http://127.0.0.1:PORT`
once uvicorn serves, exits on SIGTERM or when stdin closes. See targets/README.md.
"""

import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "common"))

import uvicorn  # noqa: E402
from racebench_target import announce, bind, exit_with_parent, log, parse_args  # noqa: E402

from api import create_app  # noqa: E402
from identity import SWITCH  # noqa: E402


class Server(uvicorn.Server):
    """uvicorn, announcing the port once its startup is done."""

    def __init__(self, config, sock):
        super().__init__(config)
        self.sock = sock

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if self.started:
            announce(self.sock)


def main():
    args = parse_args("racebench FastAPI target (full-stack template conventions)")
    app = create_app(args.db)
    sock = bind()
    exit_with_parent()
    log(f"fastapi: db {args.db}; {SWITCH.describe()}")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    Server(config, sock).run(sockets=[sock])


if __name__ == "__main__":
    main()
