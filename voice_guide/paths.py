"""Where voice-guide keeps the user's data (routines, models, sessions)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "VOICE_GUIDE_HOME"


def data_dir() -> Path:
    """The user data directory; the VOICE_GUIDE_HOME environment variable moves it."""
    override = os.environ.get(ENV_VAR)
    base = Path(override) if override else Path(platformdirs.user_data_dir("voice-guide"))
    return base


def routines_dir() -> Path:
    """User routines (*.yaml) live here."""
    return data_dir() / "routines"


def models_dir() -> Path:
    """Downloaded speech models live here, one directory per model."""
    return data_dir() / "models"


def database_path() -> Path:
    """The SQLite database of sessions, checkpoints and recipient profiles."""
    return data_dir() / "sessions.sqlite3"
