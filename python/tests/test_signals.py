"""Ctrl-C: a long call stops within a moment with KeyboardInterrupt and
leaves no output file."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tessera
from conftest import child_env

SCRIPT = textwrap.dedent("""
    import sys, time, tessera
    def slow(t):
        time.sleep(0.05)
        return t
    print("ready", flush=True)
    try:
        if sys.argv[1] == "map_tiles":
            tessera.map_tiles(slow, sys.argv[2], sys.argv[3], tile=16,
                              threads=2)
        else:
            tessera.blur(sys.argv[2], 40.0, sys.argv[3], threads=1)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        raise
    print("finished", flush=True)
""")


@pytest.fixture(scope="module")
def long_input(tmp_path_factory):
    """A DEM that a wide blur on one thread takes seconds over."""
    p = tmp_path_factory.mktemp("sig") / "dem.tif"
    tessera.synth(p, size=(3000, 3000), octaves=1)
    return p


@pytest.mark.parametrize("call", ["map_tiles", "blur"])
def test_ctrl_c_stops_the_call(long_input, tmp_path, call):
    out = tmp_path / "o.tif"
    env = child_env()
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, call, str(long_input),
                          str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env,
                         cwd=tmp_path,
                         preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                          signal.SIG_DFL))
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)              # well inside the call (seconds long)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    took = time.monotonic() - t0
    assert "KeyboardInterrupt" in stdout, (stdout, stderr)
    assert "finished" not in stdout
    assert p.returncode != 0
    assert took < 2.0, f"stopped {took:.2f} s after SIGINT"
    assert os.listdir(tmp_path) == []
