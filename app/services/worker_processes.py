"""Worker processes the server starts (bulk checks, the what-if): each ends with the server."""

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def end_with_server() -> None:
    """In a worker (every worker pool's initializer): be sent SIGTERM when the server process
    ends (Linux), so no worker outlives a killed server."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the server ended before the line above
        os._exit(0)
