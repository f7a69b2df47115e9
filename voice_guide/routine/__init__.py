"""Routines: the spoken scripts people write (YAML), their typed model, loader and lints."""

from voice_guide.routine.model import Cue, PressureScale, Routine, Section, Step

__all__ = ["Cue", "PressureScale", "Routine", "Section", "Step"]
