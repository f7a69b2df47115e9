"""voice-guide: an offline, hands-free, voice-guided session assistant.

Data flows one way: routine file -> routine model -> session state machine -> effects ->
speaker; microphone -> recognizer -> command events -> state machine. The runner is the
one place that owns a live session.
"""

__version__ = "0.1.0"
