"""Where ``charter serve`` logs: stderr, as uvicorn does, and ``CHARTER_LOG_FILE`` when set.

Charter's own loggers (``charter.*``: the worker's jobs, rights requests, the outbox, the API's
server-side errors) log at INFO, beside uvicorn's. Log calls name subject and request ids,
never identities, names or addresses; database errors carry no statement parameters
(``charter.storage.engine.make_engine``), and the access log (client addresses) stays off.
``charter forensics scan`` reads the log file and its rotated copies (``charter.log.1`` ...).
The file is opened with ``WatchedFileHandler``, so that logrotate may move it away.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def log_config(log_file: Path | None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["charter"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if log_file is not None:
        config["formatters"]["file"] = {"format": FILE_FORMAT}
        config["handlers"]["file"] = {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(log_file),
            "formatter": "file",
            "encoding": "utf-8",
        }
        for name in ("charter", "uvicorn", "uvicorn.access"):
            config["loggers"][name]["handlers"].append("file")
    return config
