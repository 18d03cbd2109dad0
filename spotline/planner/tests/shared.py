"""Where the shared real data is: ``../shared/data`` beside the project (as CI lays it),
``SPOTLINE_SHARED_DATA`` when set, or the workplace's copy for a worktree elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def calls_dir() -> Path:
    candidates = [Path(os.environ["SPOTLINE_SHARED_DATA"])] if os.environ.get(
        "SPOTLINE_SHARED_DATA") else []
    candidates += [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for base in candidates:
        if (base / "calls").is_dir():
            return base / "calls"
    raise FileNotFoundError("shared/data/calls not found beside the project; "
                            "set SPOTLINE_SHARED_DATA to the shared data folder")
