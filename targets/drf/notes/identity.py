"""Who is calling, as the views see it, with the second article's bug behind a switch.

The pattern: a module-level "current user" holder (one `RequestContext` object for the whole
process, like a hand-rolled `g` or `current_user` that is not request-local). A view stores the
authenticated caller's id on it, does something slow (here a pause, `RACEBENCH_BUG_WINDOW`; in
the article a database call), and reads the id back. waitress serves requests on several threads,
so another request may have written its own caller's id meanwhile: the view then creates notes
in another user's account, and lists and reads another user's notes (or answers 404 for one's own).

The correct twin keeps the id where it belongs to one request (a local, or `request.user`); if a
context object is needed, make it request-local (`contextvars.ContextVar`, `threading.local`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))

from racebench_target import BugSwitch  # noqa: E402

SWITCH = BugSwitch()


class RequestContext:
    """The caller of "the" request, as if there were only one at a time."""

    def __init__(self, switch: BugSwitch):
        self.switch = switch
        # BUG (shared-identity): per-request state on an object every thread shares.
        self.user_id = None

    def caller_id(self, user_id: int) -> int:
        if self.switch.shared_identity:
            # The bug: store the caller on the shared object, block, read it back.
            self.user_id = user_id
            self.switch.pause_sync()
            return self.user_id
        # The correct twin: the same pause, the caller's id stays in a local.
        self.switch.pause_sync()
        return user_id


# One object for the whole process.
context = RequestContext(SWITCH)
