"""Training checkpoints: one self-describing file, written atomically, loaded with checks.

A checkpoint holds the network name and construction settings, the weights, the
optimiser and scheduler state, the completed epoch and the metrics so far. It is
written to a temporary file and renamed into place, so an interrupted write never
replaces a good checkpoint with a broken one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..io import write_atomic
from ..nets import MultiTaskNet, build_net

FORMAT = "spikebridge-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: Mapping[str, Any], *, kind: str = FORMAT) -> Path:
    """Write ``payload`` (plus the format tag ``kind`` and version) to ``path`` atomically."""
    data = {"format": kind, "version": VERSION, **payload}
    return write_atomic(path, lambda tmp: torch.save(data, tmp))


def read_checkpoint(
    path: str | Path,
    *,
    kind: str = FORMAT,
    fix: str = "rerun training with --resume from an intact copy",
) -> dict[str, Any]:
    """The checkpoint of format ``kind`` at ``path`` (a training checkpoint by default, or
    its folder), with a clear error for a missing, truncated or foreign file; ``fix`` is the
    advice given for a file that cannot be read."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise InputError(
            f"No checkpoint at {path}. Pass the checkpoint.pt written by 'spikebridge train' "
            "(or its output folder)."
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc}). It may be "
            f"truncated: {fix}."
        ) from exc
    if not isinstance(data, dict) or data.get("format") != kind:
        raise InputError(f"{path} is not a {kind} file; {fix}.")
    if data.get("version") != VERSION:
        raise InputError(
            f"{path} has checkpoint version {data.get('version')}; this spikebridge reads "
            f"version {VERSION}; {fix}."
        )
    return data


def checkpoint_format(path: str | Path) -> str | None:
    """The format tag of the checkpoint at ``path`` (or in its folder); None for a file
    without one (reading it with :func:`read_checkpoint` then says what is wrong)."""
    path = Path(path)
    path = path / "checkpoint.pt" if path.is_dir() else path
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:
        return None
    return data.get("format") if isinstance(data, dict) else None


def load_trained(
    path: str | Path, dtype: torch.dtype | None = None
) -> tuple[MultiTaskNet, dict[str, Any]]:
    """The trained network of a checkpoint (in ``dtype``, default float32) and its metadata."""
    data = read_checkpoint(path)
    config = data["config"]
    net = build_net(
        config["net"],
        steps=config["steps"],
        seed=config["seed"],
        dtype=dtype,
        synapse=config.get("synapse", "multiply"),  # older checkpoints: the paper's
    )
    net.load_state_dict(data["state_dict"])
    net.eval()
    return net, data
