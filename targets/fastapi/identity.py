"""Who is calling: the dependency every authenticated route takes, with the second article's bug.

The article ("Using Locust to load test a FastAPI app with concurrent users") found that an
`AccessControlManager` class used with dependency injection kept the caller's user id in an
attribute. FastAPI calls a dependency *instance* for every request, so when that instance is
created once at import time (`Depends(access_control)`), its attributes are shared by every
request in the process. The manager stores the caller's id, awaits something (here a pause,
`RACEBENCH_BUG_WINDOW`; in the article a database call), and reads the attribute back; if another
request ran meanwhile, it reads back *that* caller's id. Creates then land in another user's
account and reads and lists show another user's records.

The correct twin is the same code with the id kept in a local variable: a dependency instance
shared by the process must hold no per-request state (put it in locals, in the request, or in a
per-request dependency such as a generator or a class FastAPI instantiates per request).
"""

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))

import jwt  # noqa: E402
from fastapi import HTTPException, status  # noqa: E402
from racebench_target import BugSwitch  # noqa: E402

import security  # noqa: E402

SWITCH = BugSwitch()


class AccessControlManager:
    """Resolves a request's bearer token to the caller's user id (after an awaited step)."""

    def __init__(self, switch: BugSwitch):
        self.switch = switch
        # BUG (shared-identity): per-request state on an object every request shares.
        self.user_id: uuid.UUID | None = None

    async def caller_id(self, token: str) -> uuid.UUID:
        user_id = self.user_of(token)
        if self.switch.shared_identity:
            # The bug: store the caller on the shared instance, await, read it back.
            self.user_id = user_id
            await self.switch.pause_async()
            return self.user_id
        # The correct twin: the same pause, the caller's id stays in a local.
        await self.switch.pause_async()
        return user_id

    @staticmethod
    def user_of(token: str) -> uuid.UUID:
        try:
            return uuid.UUID(security.subject_of(token))
        except (jwt.InvalidTokenError, ValueError):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN, detail="Could not validate credentials"
            ) from None


# One instance for the whole process, as `Depends(access_control)` in the article.
access_control = AccessControlManager(SWITCH)
