"""The spool's disk fills up: warned, counted, the app unaffected, and what was spooled intact.

The full disk is simulated with RLIMIT_FSIZE in a child process: writes past the limit fail
with EFBIG (after writing what fits, as a full disk does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import evaltrace

SENT = 200
FILE_LIMIT_BYTES = 40_000


@pytest.mark.parametrize(
    ("batch_size", "sent", "limit"), [(3, SENT, FILE_LIMIT_BYTES), (500, 2000, 256_000)]
)
def test_full_disk_for_the_spool_is_counted_and_spooled_traces_survive(
    tmp_path: Path, batch_size: int, sent: int, limit: int
) -> None:
    """Batches of 500 on a 256 KB disk: each batch that did not fit failed whole, 0 of 2,000
    traces were kept. Now every whole line the disk takes is kept."""
    spool, later = tmp_path / "spool", tmp_path / "later"
    uri = f"sqlite:///{later / 'db.sqlite'}"  # unreachable until `later` exists
    child = (
        "import json, resource, signal, evaltrace\n"
        "from evaltrace._session import get_session\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process\n"
        f"evaltrace.configure(spool_dir={str(spool)!r}, tracking_uri={uri!r}, "
        f"batch_size={batch_size}, max_queue_size=10000)\n"
        "@evaltrace.trace\n"
        "def work(i): return {'i': i, 'padding': 'p' * 200}\n"
        "get_session().pipeline()  # opened before the limit, as a running app would have\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        f"assert [work(i)['i'] for i in range({sent})] == list(range({sent}))\n"
        "evaltrace.flush(timeout=2)\n"
        "writer = get_session().pipeline().writer\n"
        "print(json.dumps({'spilled': writer.spilled, 'dropped': writer.dropped}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    env["EVALTRACE_RAISE_INTERNAL_ERRORS"] = "1"
    # Exit must not wait out this timeout: with the store down, spooled is as far as it goes.
    env["EVALTRACE_FLUSH_ON_EXIT_TIMEOUT"] = "3600"
    result = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["spilled"] + counts["dropped"] == sent
    assert counts["spilled"] > sent // 20 and counts["dropped"] > 0
    assert "the spool cannot be written" in result.stderr
    assert "File too large" in result.stderr
    for spool_file in spool.iterdir():  # one, or more if a replay took one meanwhile
        assert spool_file.stat().st_size <= limit
        assert spool_file.read_bytes().endswith(b"\n")  # no torn line left behind

    later.mkdir()
    evaltrace.configure(spool_dir=str(spool))
    evaltrace.set_tracking_uri(uri)
    assert evaltrace.recover(timeout=30) is True
    stored = evaltrace.search_traces(return_type="list", max_results=1000)
    assert len(stored) == counts["spilled"]
    assert sorted(t.data.spans[0].outputs["i"] for t in stored) == list(range(counts["spilled"]))
