"""Execute every tutorial (jupytext percent-format .py) as a notebook; a failing cell fails.

Tutorials run at their small size (SPIKEBRIDGE_SMALL=1). The executed notebooks are written
next to their sources (tutorials/*.ipynb, not committed) and each tutorial's run time is
printed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"


def main() -> int:
    os.environ.setdefault("SPIKEBRIDGE_SMALL", "1")
    failures = 0
    for source in sorted(TUTORIALS.glob("[0-9]*.py")):
        notebook = jupytext.read(source)
        client = NotebookClient(
            notebook,
            timeout=1200,
            kernel_name="python3",
            resources={"metadata": {"path": str(TUTORIALS)}},
        )
        started = time.time()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as exc:
            status = f"FAILED\n{exc}"
            failures += 1
        nbformat.write(notebook, source.with_suffix(".ipynb"))
        print(f"{source.name}: {status} ({time.time() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
