"""The probe's data on disk: inputs once, each teacher's outputs beside them, in chunks.

Layout under a data folder::

    manifest.json                  input statistics, duration, seed, chunk size (fixed at creation)
    inputs/chunk_0000.npz          bit-packed input spikes of simulations 0 .. chunk-1
    <teacher>/teacher.json         the teacher as simulated (with its calibrated gain)
    <teacher>/chunk_0000.npz       its output spikes (bit-packed) and soma (float32, mV)

Every file is written atomically, so an interrupted generation resumes at the first missing
chunk; a data folder made with other statistics, duration, seed or chunk size (or a teacher
folder made with another teacher) is refused, never overwritten. Simulation ``k`` has the
inputs of :func:`~spikebridge.probe.inputs.input_block` for seed and ``k`` whatever the chunk
size, so train, validation and test sets are ranges of one sequence of simulations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import write_atomic, write_json
from .inputs import InputStatistics, input_block
from .students import ProbeData
from .teachers import Teacher, simulate_teacher


@dataclass(frozen=True)
class DataSpec:
    """What a data folder holds: ``simulations`` of ``duration_ms`` each, in chunks."""

    stats: InputStatistics
    duration_ms: int
    seed: int
    chunk: int
    simulations: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.stats.to_dict(),
            "duration_ms": self.duration_ms,
            "seed": self.seed,
            "chunk": self.chunk,
        }

    def chunks(self) -> range:
        return range(-(-self.simulations // self.chunk))

    def chunk_range(self, k: int) -> range:
        """Chunk ``k``'s simulations: always whole chunks (the last one may run past
        ``simulations``), so a data set grown later keeps its chunks."""
        return range(k * self.chunk, (k + 1) * self.chunk)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, allow_pickle=False, **arrays)

    write_atomic(path, write)


def _check_held(path: Path, wanted: dict[str, Any], refusal: str) -> None:
    """Write ``wanted`` to ``path``, or, where ``path`` holds other data, refuse with
    ``refusal`` (formatted with the differing keys)."""
    if not path.exists():
        write_json(path, wanted)
        return
    held = json.loads(path.read_text())
    if held != wanted:
        changed = sorted(k for k in wanted.keys() | held.keys() if held.get(k) != wanted.get(k))
        raise InputError(refusal.format(changed=", ".join(changed)))


def _check_manifest(root: Path, spec: DataSpec) -> None:
    _check_held(
        root / "manifest.json",
        spec.to_dict(),
        f"The probe data in '{root}' was made with other settings ({{changed}} differ). Give "
        "another --out folder, or delete that one to regenerate it.",
    )


def _check_teacher(folder: Path, teacher: Teacher) -> None:
    _check_held(
        folder / "teacher.json",
        teacher.to_dict(),
        f"The outputs in '{folder}' come from another teacher '{teacher.name}' ({{changed}} "
        "differ). Rename the teacher or delete that folder.",
    )


def generate(
    root: str | Path,
    spec: DataSpec,
    teacher: Teacher,
    *,
    device: str = "cpp_standalone",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Make (or complete) the inputs and ``teacher``'s outputs for every simulation of
    ``spec``; returns the seconds spent and the chunks made this call."""
    root = Path(root)
    _check_manifest(root, spec)
    folder = root / teacher.name
    _check_teacher(folder, teacher)
    made, simulate_s, started = 0, 0.0, time.perf_counter()
    for k in spec.chunks():
        sims = spec.chunk_range(k)
        inputs_path = root / "inputs" / f"chunk_{k:04d}.npz"
        out_path = folder / f"chunk_{k:04d}.npz"
        if out_path.exists():
            continue
        if inputs_path.exists():
            inputs = _load_inputs(inputs_path, spec)
        else:
            inputs = input_block(spec.stats, spec.duration_ms, spec.seed, sims)
            _save_npz(inputs_path, spikes=np.packbits(inputs, axis=-1), n=np.array(len(sims)))
        began = time.perf_counter()
        spikes, soma = simulate_teacher(
            teacher, inputs, spec.stats, device=device, directory=root / "build" / teacher.name
        )
        simulate_s += time.perf_counter() - began
        _save_npz(out_path, spikes=np.packbits(spikes.astype(bool), axis=-1), soma=soma)
        made += 1
        if progress is not None:
            rate = spikes.sum() / (len(sims) * spec.duration_ms / 1000.0)
            progress(f"{teacher.name}: chunk {k + 1}/{len(spec.chunks())}, {rate:.2f} Hz")
    return {
        "chunks_made": made,
        "simulate_seconds": simulate_s,
        "seconds": time.perf_counter() - started,
    }


def _load_inputs(path: Path, spec: DataSpec) -> np.ndarray:
    with np.load(path) as data:
        packed = data["spikes"]
    return np.unpackbits(packed, axis=-1, count=spec.duration_ms).astype(np.uint8)


def load(root: str | Path, spec: DataSpec, teacher: str, simulations: range) -> ProbeData:
    """The inputs and ``teacher``'s outputs of ``simulations`` (generated beforehand)."""
    root = Path(root)
    inputs, spikes, soma = [], [], []
    for k in spec.chunks():
        sims = spec.chunk_range(k)
        keep = [s - sims.start for s in sims if s in simulations]
        if not keep:
            continue
        path = root / teacher / f"chunk_{k:04d}.npz"
        if not path.exists():
            raise InputError(
                f"Probe data '{path}' is missing; generate the teacher's data first "
                "(the study does so, and resumes where it stopped)."
            )
        inputs.append(_load_inputs(root / "inputs" / f"chunk_{k:04d}.npz", spec)[keep])
        with np.load(path) as data:
            spikes.append(np.unpackbits(data["spikes"], axis=-1, count=spec.duration_ms)[keep])
            soma.append(data["soma"][keep])
    return ProbeData(
        inputs=np.concatenate(inputs), spikes=np.concatenate(spikes), soma=np.concatenate(soma)
    )
