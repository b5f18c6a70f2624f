"""Background work: the Dramatiq broker (set up first), the job runner, dispatch and the Redis relay."""

from . import broker  # noqa: F401 - must come before any actor module
