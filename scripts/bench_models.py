"""Benchmark of model management: what `voice-guide models download` costs apart from the
network, and what `find_model` adds to the listener's start-up.

Serves a model-shaped zip the size of vosk-model-small-en-us-0.15 (41 MB, random content so
it does not compress) from a local HTTP server, installs it into a temporary VOICE_GUIDE_HOME,
and prints seconds per stage. Run: .venv/bin/python scripts/bench_models.py
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ARCHIVE_BYTES = 41_205_931
NAME = "vosk-model-small-xx-0.1"


def build_archive(folder: Path) -> Path:
    """A zip laid out like a small Vosk model, about ARCHIVE_BYTES long."""
    sizes = {
        "am/final.mdl": int(ARCHIVE_BYTES * 0.4),
        "graph/HCLr.fst": int(ARCHIVE_BYTES * 0.3),
        "graph/Gr.fst": int(ARCHIVE_BYTES * 0.25),
        "ivector/final.ie": int(ARCHIVE_BYTES * 0.05),
        "conf/model.conf": 200,
        "conf/mfcc.conf": 200,
    }
    path = folder / f"{NAME}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for rel, size in sizes.items():
            zf.writestr(f"{NAME}/{rel}", os.urandom(size))
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["VOICE_GUIDE_HOME"] = str(tmp / "home")
        # Imported after VOICE_GUIDE_HOME is set, like a fresh process would.
        from voice_guide.speech_in.model_install import (
            check_archive,
            download,
            extract_model,
            resolve_source,
        )
        from voice_guide.speech_in.models import find_model, verify_model

        serve = tmp / "serve"
        serve.mkdir()
        archive = build_archive(serve)
        hasher = hashlib.sha256()
        with archive.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        digest = hasher.hexdigest()

        class Quiet(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(serve), **kwargs)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}"

        source = resolve_source(NAME, base_url=url, sha256=digest)
        part = tmp / "home" / "models" / ".downloads" / f"{NAME}.zip.part"
        stages: list[tuple[str, float]] = []

        start = time.perf_counter()
        download(source, part)
        stages.append(("download over loopback", time.perf_counter() - start))
        start = time.perf_counter()
        check_archive(part, source)
        stages.append(("size + SHA-256 check", time.perf_counter() - start))
        start = time.perf_counter()
        model = extract_model(part, NAME, "xx", source_url=url)
        stages.append(("extract + tree digest + rename", time.perf_counter() - start))
        start = time.perf_counter()
        assert verify_model(model.path) == []
        stages.append(("models verify", time.perf_counter() - start))
        runs = 200
        start = time.perf_counter()
        for _ in range(runs):
            assert find_model("xx") == model.path
        stages.append(("find_model('xx') (installed)", (time.perf_counter() - start) / runs))
        start = time.perf_counter()
        for _ in range(runs):
            find_model("ko")
        stages.append(("find_model('ko') (pip package)", (time.perf_counter() - start) / runs))
        httpd.shutdown()

        unpacked = model.installed_bytes / 1e6
        print(f"archive: {archive.stat().st_size / 1e6:.1f} MB, {unpacked:.1f} MB unpacked")
        for label, seconds in stages:
            print(f"{label:34} {seconds * 1000:9.2f} ms")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'peak RSS':34} {peak:9.1f} MB")


if __name__ == "__main__":
    main()
