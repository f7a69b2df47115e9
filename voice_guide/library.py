"""The routines a user has: the built-in ones and those in their routines folder.

The routine loader reads what it is given and knows no user folder; this is where a routine
name is looked up in the folder `paths` names (VOICE_GUIDE_HOME moves it).
"""

from __future__ import annotations

import os

from voice_guide import paths
from voice_guide.routine import loader
from voice_guide.routine.loader import LoadedRoutine, RoutineInfo
from voice_guide.routine.model import Routine

__all__ = ["available_routines", "load_routine", "read_routine"]


def read_routine(path_or_name: str | os.PathLike[str]) -> LoadedRoutine:
    """A routine by file path, or by name: the user's routines first, then the built-in."""
    return loader.read_routine(path_or_name, paths.routines_dir())


def load_routine(path_or_name: str | os.PathLike[str]) -> Routine:
    """Like `read_routine`, only the routine."""
    return read_routine(path_or_name).routine


def available_routines() -> list[RoutineInfo]:
    """Built-in routines, then the user's, by name."""
    return loader.available_routines(paths.routines_dir())
