"""brian2cuda in one place: the toolkit it needs, the flags spikebridge sets, a build check.

:func:`find_toolkit` locates what a ``cuda_standalone`` project compiles with: ``nvcc``
and the CUDA headers (``$CUDA_PATH``, ``$CUDA_HOME``, ``nvcc`` on ``PATH``,
``/usr/local/cuda``, or the ``nvidia-cuda-nvcc`` wheel) and cuRAND (the toolkit's own, or
the ``nvidia-curand`` wheel). :func:`configure_brian2cuda` sets brian2cuda's preferences
from it; every ``cuda_standalone`` session of spikebridge goes through it:

- C++17 for nvcc and the host compiler (CUDA >= 13's Thrust/CCCL refuses C++11, which
  brian2cuda 1.0a7's makefile and Brian2 2.8's host flags ask for);
- cuRAND's include and library folders (a wheel ships ``libcurand.so.N`` without the
  ``libcurand.so`` the makefile's ``-lcurand`` needs: a link to it is put in the project);
- ``make -jN`` with N the CPU count (Brian2's default ``-j`` starts every nvcc at once,
  about 0.7 GB each: it ran a 2-core, 24 GB machine out of memory);
- without a GPU (``compute_capability`` given): no GPU detection, that architecture.

:func:`build_check` generates one ``cuda_standalone`` project holding any number of
models (one ``NeuronGroup`` each) and described networks, and compiles it with nvcc for a
chosen architecture without running it. ``mode="make"`` runs brian2cuda's own makefile
(every source file a translation unit, then the link); ``mode="unity"`` compiles the same
files with the makefile's own flags, but the code objects as one translation unit (each
wrapped in a namespace of its own), and does not link: every code object is still
compiled for the device and the host, while the CUDA headers (Thrust, cuRAND; about 20 s
per translation unit on one core) are parsed once instead of once per code object, which
makes a build of every model about 10x faster. The report names every code object and its
owner, so a failure points at the model or network that caused it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..checks import positive
from ..errors import DeviceUnavailableError, InputError

#: the modes of :func:`build_check`
BUILD_MODES = ("unity", "make")
#: the compute capability a GPU-less build compiles for by default (an H100/H200)
DEFAULT_COMPUTE_CAPABILITY = 9.0
_CUDA_LIB_FOLDER = "sb_cuda_lib"
_UNITY = "sb_unity"


@dataclass(frozen=True)
class CudaToolkit:
    """Where nvcc, the CUDA headers and cuRAND are."""

    cuda_path: str
    nvcc: str
    runtime_version: float
    curand_include: str
    curand_library: str  # the libcurand.so(.N) file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _wheel_roots() -> list[Path]:
    """The ``nvidia/cu*`` folders of NVIDIA's wheels in this environment."""
    roots: list[Path] = []
    for entry in sys.path:
        base = Path(entry) / "nvidia"
        if base.is_dir():
            roots += sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("cu"))
            roots += [base / name for name in ("cuda_nvcc", "curand") if (base / name).is_dir()]
    return roots


def _cuda_path_candidates() -> list[Path]:
    candidates = [os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME")]
    paths = [Path(c) for c in candidates if c]
    nvcc = shutil.which("nvcc")
    if nvcc:
        paths.append(Path(os.path.realpath(nvcc)).parent.parent)
    paths.append(Path("/usr/local/cuda"))
    paths += _wheel_roots()
    return paths


def _nvcc_release(nvcc: str) -> float:
    text = subprocess.run(
        [nvcc, "--version"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    match = re.search(r"release (\d+)\.(\d+)", text)
    if match is None:
        raise DeviceUnavailableError(f"{nvcc} --version printed no CUDA release:\n{text}")
    return float(f"{match.group(1)}.{match.group(2)}")


def find_toolkit() -> CudaToolkit:
    """The CUDA toolkit and cuRAND a ``cuda_standalone`` build needs, or an error naming what
    to install or set."""
    cuda_path = next(
        (
            p
            for p in _cuda_path_candidates()
            if (p / "bin" / "nvcc").is_file() and (p / "include" / "cuda_runtime.h").is_file()
        ),
        None,
    )
    if cuda_path is None:
        raise DeviceUnavailableError(
            "No CUDA toolkit found (nvcc with the CUDA headers): looked at $CUDA_PATH, "
            "$CUDA_HOME, nvcc on PATH, /usr/local/cuda and NVIDIA's wheels. Install the CUDA "
            "toolkit, or from PyPI: pip install nvidia-cuda-nvcc nvidia-cuda-runtime "
            "nvidia-cuda-cccl nvidia-cuda-crt nvidia-nvvm nvidia-cuda-profiler-api (pinned in "
            "requirements/cuda-toolkit.txt); or set CUDA_PATH."
        )
    folders = [cuda_path, *_wheel_roots()]
    include = next((p / "include" for p in folders if (p / "include" / "curand.h").is_file()), None)
    library = next(
        (
            lib
            for p in folders
            for sub in ("lib64", "lib")
            for lib in sorted((p / sub).glob("libcurand.so*"))
            if lib.is_file()
        ),
        None,
    )
    if include is None or library is None:
        missing = "curand.h" if include is None else "libcurand.so"
        raise DeviceUnavailableError(
            f"cuRAND is missing ({missing} not found in {cuda_path} nor in NVIDIA's wheels); "
            "brian2cuda links every project against it. Install it: pip install nvidia-curand "
            "(or the CUDA toolkit's cuRAND package)."
        )
    nvcc = str(cuda_path / "bin" / "nvcc")
    return CudaToolkit(str(cuda_path), nvcc, _nvcc_release(nvcc), str(include), str(library))


def require_brian2cuda() -> None:
    """Import brian2cuda (registering its device and preferences), or name the install."""
    if importlib.util.find_spec("brian2cuda") is None:
        raise DeviceUnavailableError(
            "The 'cuda_standalone' device needs brian2cuda: pip install 'spikebridge[cuda]' "
            "(brian2cuda 1.0a7 pins brian2 == 2.8.0; brian2cuda 1.0b1 needs Python >= 3.12)."
        )
    importlib.import_module("brian2cuda")


def cuda_preference_names() -> tuple[str, ...]:
    """The preferences :func:`configure_brian2cuda` sets (saved and restored by sessions)."""
    backend = "devices.cuda_standalone.cuda_backend."
    return (
        backend + "extra_compile_args_nvcc",
        backend + "detect_gpus",
        backend + "gpu_id",
        backend + "compute_capability",
        backend + "cuda_runtime_version",
        backend + "cuda_path",
        "codegen.cpp.extra_compile_args_gcc",
        "codegen.cpp.include_dirs",
        "codegen.cpp.library_dirs",
        "codegen.cpp.runtime_library_dirs",
        "devices.cpp_standalone.extra_make_args_unix",
    )


def configure_brian2cuda(
    project: Path, toolkit: CudaToolkit, compute_capability: float | None = None
) -> None:
    """Set brian2cuda's preferences for a build in ``project`` (see the module docstring).

    ``compute_capability``: build for it without looking for a GPU (None: the GPU's)."""
    from brian2 import prefs
    from brian2cuda.utils.gputools import reset_cuda_installation, reset_gpu_selection

    backend = prefs.devices.cuda_standalone.cuda_backend
    nvcc_args = [a for a in backend.extra_compile_args_nvcc if not a.startswith("-std=")]
    backend.extra_compile_args_nvcc = [*nvcc_args, "-std=c++17"]
    gcc = [a for a in prefs.codegen.cpp.extra_compile_args_gcc if not a.startswith("-std=")]
    prefs.codegen.cpp.extra_compile_args_gcc = [*gcc, "-std=c++17"]
    backend.cuda_path = toolkit.cuda_path
    backend.cuda_runtime_version = toolkit.runtime_version
    if compute_capability is not None:
        compute_capability = positive(compute_capability, "compute_capability")
        if compute_capability < 5.0:
            raise InputError(
                f"compute capability {compute_capability} is below brian2cuda's minimum 5.0."
            )
        backend.detect_gpus = False
        backend.gpu_id = 0
        backend.compute_capability = float(compute_capability)
    lib_folder = project / _CUDA_LIB_FOLDER
    lib_folder.mkdir(parents=True, exist_ok=True)
    link = lib_folder / "libcurand.so"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(toolkit.curand_library)
    includes = [d for d in prefs.codegen.cpp.include_dirs if d != toolkit.curand_include]
    prefs.codegen.cpp.include_dirs = [*includes, toolkit.curand_include]
    libraries = [d for d in prefs.codegen.cpp.library_dirs if d != str(lib_folder)]
    curand_folder = str(Path(toolkit.curand_library).parent)
    prefs.codegen.cpp.library_dirs = [*libraries, str(lib_folder), curand_folder]
    runtime = [d for d in prefs.codegen.cpp.runtime_library_dirs if d != curand_folder]
    prefs.codegen.cpp.runtime_library_dirs = [*runtime, curand_folder]  # the binary's rpath
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    reset_cuda_installation()  # brian2cuda caches what it detected once per process
    reset_gpu_selection()


# -- the build check -----------------------------------------------------------------------------
@dataclass
class BuildReport:
    """What :func:`build_check` generated and compiled, and how long each part took."""

    mode: str
    compute_capability: float
    ok: bool
    toolkit: dict[str, Any]
    owners: dict[str, list[str]]  # model or network -> its code objects
    translation_units: int
    seconds: dict[str, float] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)  # owner -> failing objects
    error: str = ""
    directory: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_check(
    models: Sequence[str] = (),
    networks: Mapping[str, Any] | None = None,
    *,
    directory: str | Path,
    mode: str = "unity",
    compute_capability: float = DEFAULT_COMPUTE_CAPABILITY,
    jobs: int | None = None,
) -> BuildReport:
    """Generate one ``cuda_standalone`` project with ``models`` (names or files; a group of
    two neurons each, its declared method) and ``networks`` (label -> a
    :class:`~spikebridge.network.NetworkRun`), and compile it with nvcc for
    ``compute_capability`` without a GPU; nothing runs. See the module docstring for
    ``mode``. Raises :class:`DeviceUnavailableError` naming what is missing."""
    from ..checks import count

    if mode not in BUILD_MODES:
        raise InputError(f"mode must be one of {', '.join(BUILD_MODES)}; got {mode!r}.")
    jobs = count(jobs if jobs is not None else (os.cpu_count() or 1), "jobs")
    require_brian2cuda()
    toolkit = find_toolkit()
    project = Path(directory)
    began = time.perf_counter()
    owners = _generate(project, models, dict(networks or {}), toolkit, compute_capability)
    seconds = {"generate": time.perf_counter() - began}
    report = BuildReport(
        mode,
        compute_capability,
        True,
        toolkit.to_dict(),
        owners,
        0,
        seconds,
        directory=str(project),
    )
    began = time.perf_counter()
    if mode == "make":
        targets: list[str] = []
        report.translation_units = len(_sources(project))
    else:
        targets = _unity_targets(project)
        report.translation_units = len(targets)
    done = subprocess.run(
        ["make", f"-j{jobs}", *targets], cwd=project, capture_output=True, text=True, check=False
    )
    seconds["compile"] = time.perf_counter() - began
    if done.returncode != 0:
        report.ok = False
        report.error = (done.stdout + done.stderr)[-6000:]
        report.failed = _failing(report.error, owners)
    return report


def _generate(
    project: Path,
    models: Sequence[str],
    networks: dict[str, Any],
    toolkit: CudaToolkit,
    compute_capability: float,
) -> dict[str, list[str]]:
    from brian2 import Network as BrianNetwork
    from brian2 import ms, second
    from brian2.devices.device import get_device

    from ..model import load_model
    from .devices import brian2_session
    from .group import make_neuron_group
    from .network import build_network

    owners: dict[str, list[str]] = {}
    with brian2_session(
        "cuda_standalone", directory=project, compile_for=compute_capability, toolkit=toolkit
    ):
        device = get_device()
        if models:
            groups = BrianNetwork()
            names: dict[str, str] = {}
            for entry in models:
                model = load_model(entry)
                name = "model_" + re.sub(r"\W", "_", model.name)
                if name in names.values():
                    raise InputError(f"model {model.name!r} is listed twice.")
                names[model.name] = name
                groups.add(make_neuron_group(model, 2, model.method, float(model.dt), name=name))
            groups.run(1 * ms, namespace={})
            for group in groups.objects:
                label = next(m for m, g in names.items() if g == group.name)
                owners[f"model {label}"] = _object_names(group)
        taken = {n: f"model {m}" for m, n in names.items()} if models else {}
        for label, run in networks.items():
            clash = sorted(set(_plan_names(run.plan)) & set(taken))
            if clash:
                raise InputError(
                    f"network {label!r} names {', '.join(clash)}, as {taken[clash[0]]} does: "
                    "Brian2 needs every object of a project to have a name of its own. Rename "
                    "its populations or projections, or build it in a project of its own."
                )
            built = build_network(run.plan, run)
            duration = run.trials * built.window_steps * run.plan.dt * second
            built.network.run(duration, namespace=dict(built.namespace))
            taken.update({obj.name: f"network {label}" for obj in built.network.objects})
            owners[f"network {label}"] = [
                n for obj in built.network.objects for n in _object_names(obj)
            ]
        device.build(directory=str(project), compile=False, run=False, with_output=False)
    code_objects = sorted(  # the project's own (a reused folder may hold older files)
        Path(source).stem for source in _sources(project) if source.startswith("code_objects/")
    )
    return {
        owner: sorted(c for c in code_objects if any(_owned(c, n) for n in names_))
        for owner, names_ in owners.items()
    }


def _plan_names(plan: Any) -> list[str]:
    """The Brian2 object names a network plan will use (populations, sources, projections)."""
    return [*plan.populations, *plan.sources, *plan.projections]


def _object_names(obj: Any) -> list[str]:
    """The names of a Brian2 object and of the objects it contains (its code runners)."""
    return [obj.name, *(n for c in obj.contained_objects for n in _object_names(c))]


def _owned(code_object: str, name: str) -> bool:
    base = code_object.removeprefix("after_run_").removeprefix("before_run_")
    return re.fullmatch(re.escape(name) + r"_codeobject(_\d+)?", base) is not None


def _sources(project: Path) -> list[str]:
    makefile = (project / "makefile").read_text()
    match = re.search(r"^SRCS = (.*)$", makefile, re.MULTILINE)
    if match is None:
        raise DeviceUnavailableError(f"brian2cuda wrote no SRCS line in {project / 'makefile'}.")
    return match.group(1).split()


def _unity_targets(project: Path) -> list[str]:
    """Write ``sb_unity.cu`` (every code object in a namespace of its own) and return the
    object files to make: it and every source outside ``code_objects/``."""
    sources = _sources(project)
    objects = [s for s in sources if s.startswith("code_objects/")]
    includes: list[str] = []
    for source in objects:
        for line in (project / source).read_text().splitlines():
            if line.startswith("#include") and line not in includes:
                includes.append(line)
    lines = ["// spikebridge build check: brian2cuda's code objects as one translation unit"]
    lines += includes  # every header at file scope first: inside the namespaces they are no-ops
    for k, source in enumerate(objects):
        lines += [f"namespace sb_unit_{k} {{", f'#include "{source}"', "}"]
    (project / f"{_UNITY}.cu").write_text("\n".join(lines) + "\n")
    rest = [s for s in sources if not s.startswith("code_objects/")]
    return [f"{_UNITY}.o", *(re.sub(r"\.(cu|cpp|c)$", ".o", s) for s in rest)]


def _failing(output: str, owners: dict[str, list[str]]) -> dict[str, list[str]]:
    named = set(re.findall(r"code_objects/(\w+)\.cu", output))
    failed = {owner: [c for c in objects if c in named] for owner, objects in owners.items()}
    failed = {owner: objects for owner, objects in failed.items() if objects}
    if not failed:
        failed = {"project": ["(a file outside the code objects; see error)"]}
    return failed
