"""Where Suanli finds its shipped data and keeps its local state."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    return Path(os.environ.get("SUANLI_DATA_DIR") or REPO_ROOT / "data")


def var_dir() -> Path:
    return Path(os.environ.get("SUANLI_VAR_DIR") or Path.cwd() / "var")


def default_database_url() -> str:
    return os.environ.get("SUANLI_DATABASE_URL") or f"sqlite:///{var_dir() / 'suanli.db'}"
