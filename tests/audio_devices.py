"""pytest plugin: real PortAudio devices on a machine without a sound card.

A PulseAudio daemon with a null sink ("room") runs for the whole test session in its own
runtime directory; PortAudio then lists a `pulse` device (and `default` routed to it) whose
input is the monitor of what was played. Load with `pytest_plugins = ["audio_devices"]`.

The fixture never skips: where the daemon cannot start, the tests that need it FAIL with
the reason (CI runs as root without a sound card, which is exactly what this is for).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from null_sink import APT, NullSink, SinkError, null_sink

__all__ = ["NullSink", "pulse_null_sink"]


def _reinitialize_portaudio() -> None:
    # PortAudio enumerates devices once, at import of sounddevice: re-enumerate so the
    # daemon that just started (or stopped) is seen. No stream may be open meanwhile.
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@pytest.fixture(scope="session")
def pulse_null_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NullSink]:
    """Start PulseAudio with a null sink; point this process's PortAudio at it."""
    runtime = tmp_path_factory.mktemp("pulse-runtime")
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    try:
        with null_sink(runtime) as sink:
            os.environ.update(sink.env)
            _reinitialize_portaudio()
            import sounddevice as sd

            names = [device["name"] for device in sd.query_devices()]
            if "pulse" not in names:
                pytest.fail(f"PortAudio does not list the pulse device (got {names}); {APT}")
            yield sink
    except SinkError as error:
        pytest.fail(str(error))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reinitialize_portaudio()
