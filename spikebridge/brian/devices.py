"""Brian2 devices: selection, availability checks and a scoped session.

Brian2 keeps its device and preferences in global state. Every spikebridge
simulation runs inside :func:`brian2_session`, which sets the device and float type
for one build-and-run and restores the previous device and preferences afterwards,
so that callers never see Brian2's globals change.

Devices:

``runtime``
    Brian2's runtime mode with Cython code generation (needs a C++ compiler).
``numpy``
    Runtime mode with the pure-numpy target (no compiler; slow, handy for debugging).
``cpp_standalone``
    A complete C++ project is generated, compiled and run (the default for studies).
``cuda_standalone``
    brian2cuda: C++/CUDA project for an NVIDIA GPU (``pip install 'spikebridge[cuda]'``).
``genn``
    brian2genn with GeNN 4.x, where a user has GeNN installed (legacy; needs brian2 < 2.6).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from brian2 import prefs, set_device
from brian2.devices.device import get_device, reset_device

from ..checks import index
from ..errors import DeviceUnavailableError, SpikebridgeError

if TYPE_CHECKING:
    from .cuda_build import CudaToolkit

DEVICES: tuple[str, ...] = ("runtime", "numpy", "cpp_standalone", "cuda_standalone", "genn")
STANDALONE_DEVICES = frozenset({"cpp_standalone", "cuda_standalone", "genn"})

_SAVED_PREFS = (
    "codegen.target",
    "core.default_float_dtype",
    "codegen.cpp.extra_compile_args_gcc",
    "devices.cpp_standalone.openmp_threads",
)


def check_device(name: str, *, need_gpu: bool = True) -> None:
    """Raise :class:`DeviceUnavailableError`, naming what to install, if ``name`` cannot run
    (``need_gpu=False``: ``cuda_standalone`` only has to compile)."""
    if name not in DEVICES:
        raise SpikebridgeError(f"Unknown Brian2 device '{name}'. Use one of: {', '.join(DEVICES)}.")
    if name == "runtime":
        if importlib.util.find_spec("Cython") is None:
            raise DeviceUnavailableError(
                "The 'runtime' device compiles Cython code: install Cython (pip install cython) "
                "and a C++ compiler, or use device='numpy'."
            )
        _require_compiler(name)
    elif name == "cpp_standalone":
        _require_compiler(name)
    elif name == "cuda_standalone":
        from .cuda_build import find_toolkit, require_brian2cuda

        require_brian2cuda()
        find_toolkit()
        if need_gpu and not cuda_gpu_present():
            raise DeviceUnavailableError(
                "The 'cuda_standalone' device needs an NVIDIA GPU to run, but none is visible "
                "(nvidia-smi lists no GPU). Run on a GPU machine, use 'cpp_standalone', or "
                "only compile the project (spikebridge.brian.cuda_build.build_check)."
            )
    elif name == "genn":
        if importlib.util.find_spec("brian2genn") is None:
            raise DeviceUnavailableError(
                "The 'genn' device needs brian2genn and GeNN 4.x: brian2genn 1.7 pins brian2 < 2.6 "
                "and numpy < 2, so install it in its own environment (pip install brian2genn "
                "'brian2<2.6' 'numpy<2'), then a GeNN 4.x source tree (GeNN 5 is not supported) "
                "pointed to by GENN_PATH. Note that brian2genn rejects exprel() (HH models)."
            )
        if not (os.environ.get("GENN_PATH") or shutil.which("genn-buildmodel.sh")):
            raise DeviceUnavailableError(
                "brian2genn is installed but GeNN is not found: set GENN_PATH to a GeNN 4.x "
                "source tree or put genn-buildmodel.sh on PATH."
            )


def cuda_gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible (``nvidia-smi -L`` lists one)."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def _require_compiler(name: str) -> None:
    if not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        raise DeviceUnavailableError(
            f"The '{name}' device compiles C++ code, but no C++ compiler (g++, clang++) is on "
            "PATH. Install one (e.g. apt-get install g++) or use device='numpy'."
        )


@contextmanager
def brian2_session(
    device: str,
    *,
    float_dtype: str = "float64",
    directory: str | Path | None = None,
    threads: int = 0,
    compile_for: float | None = None,
    toolkit: CudaToolkit | None = None,
) -> Iterator[Path | None]:
    """Set a Brian2 device and float type for one build-and-run; restore everything afterwards.

    Yields the project directory for standalone devices (a fresh temporary directory unless
    ``directory`` is given) and None for runtime devices. ``compile_for`` (``cuda_standalone``
    only): a compute capability to generate and compile for without a GPU; the device then
    does not build on ``run`` (the caller builds; see :mod:`.cuda_build`). ``toolkit``: the
    CUDA toolkit found already.
    """
    if compile_for is not None and device != "cuda_standalone":
        raise SpikebridgeError("compile_for applies to the 'cuda_standalone' device only.")
    threads = index(threads, "threads")
    check_device(device, need_gpu=compile_for is None)
    if float_dtype not in ("float64", "float32"):
        raise SpikebridgeError(f"dtype must be 'float64' or 'float32', got '{float_dtype}'.")
    keys = list(_SAVED_PREFS)
    if device == "cuda_standalone":
        from .cuda_build import cuda_preference_names

        keys += [k for k in cuda_preference_names() if k not in keys]
    saved = {key: prefs[key] for key in keys}
    previous = get_device()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    project: Path | None = None
    try:
        prefs["core.default_float_dtype"] = np.float32 if float_dtype == "float32" else np.float64
        if device in ("runtime", "numpy"):
            prefs["codegen.target"] = "cython" if device == "runtime" else "numpy"
            set_device("runtime")
        else:
            if directory is None:
                tmp = tempfile.TemporaryDirectory(prefix=f"spikebridge_{device}_")
                project = Path(tmp.name)
            else:
                project = Path(directory)
            _activate_standalone(device, project, threads, compile_for, toolkit)
        yield project
    finally:
        active = get_device()
        if active is not previous:
            if device in STANDALONE_DEVICES:
                active.reinit()
            reset_device(previous)
        for key, value in saved.items():
            prefs[key] = value
        if tmp is not None:
            tmp.cleanup()


def _activate_standalone(
    device: str,
    project: Path,
    threads: int,
    compile_for: float | None,
    toolkit: CudaToolkit | None,
) -> None:
    options: dict[str, Any] = {"directory": str(project), "with_output": False}
    if device == "cpp_standalone":
        prefs["devices.cpp_standalone.openmp_threads"] = threads
        set_device("cpp_standalone", build_on_run=True, **options)
    elif device == "cuda_standalone":
        from .cuda_build import configure_brian2cuda, find_toolkit

        configure_brian2cuda(project, toolkit or find_toolkit(), compile_for)
        set_device("cuda_standalone", build_on_run=compile_for is None, **options)
    else:
        importlib.import_module("brian2genn")
        set_device("genn", build_on_run=True, **options)
