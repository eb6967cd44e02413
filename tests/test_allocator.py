"""ui.server.keep_freed_memory: a frame of the 2-layer net's charts no longer maps, faults in and unmaps its
arrays every time (glibc's default thresholds), counted as minor page faults in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FRAMES = """
import resource, sys
from softmax.config import Config
from softmax.runner import Trainer
from testing.frames import FakeSeat
from ui.server import keep_freed_memory
from ui.stream import Frames, Ticket

if sys.argv[1] == "kept":
    assert keep_freed_memory()
trainer = Trainer(Config(model="two-layer", iterations=100_000))
seat, frames, ticket = FakeSeat(), Frames(), Ticket(None, "test", picked=0)

def frame(i):
    seat.trainer.snapshot = trainer.step(10)
    frames.build(seat, ticket, i, now=i / 4)
    frames.sent()

for i in range(3):
    frame(i)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(3, 13):
    frame(i)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_frame(mode: str) -> float:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", FRAMES, mode], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and ru_minflt: Linux")
def test_a_nets_frames_reuse_freed_memory_instead_of_faulting_it_in_again():
    default, kept = faults_per_frame("default"), faults_per_frame("kept")
    assert default > 500  # the 5 MB hidden layer over the grid, and more, mapped afresh each frame
    assert kept < default / 10


def test_the_server_keeps_freed_memory_from_its_start():
    assert "server.keep_freed_memory()" in (ROOT / "app.py").read_text()
