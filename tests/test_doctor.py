"""`spikebridge doctor`: every device listed with what it is here, every check a real run."""

from __future__ import annotations

import json

import pytest

from spikebridge.cli import main
from spikebridge.doctor import FAILED, OK, UNAVAILABLE


def test_doctor_lists_every_device(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from spikebridge.brian.devices import cuda_gpu_present

    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    checks = {(c["group"], c["name"]): c for c in report["checks"]}
    assert code == (0 if report["ok"] else 1)
    assert all(c["status"] in (OK, UNAVAILABLE, FAILED) for c in checks.values())
    assert not [c for c in checks.values() if c["status"] == FAILED], checks
    # what this test machine has (a C++ compiler; no GeNN)
    for device in ("numpy", "runtime"):
        assert checks[("brian2", device)]["status"] == OK
        assert "builds and runs" in checks[("brian2", device)]["detail"]
    parity = checks[("parity", "cpp_standalone vs torch cpu")]
    assert parity["status"] == OK and "hh 200 steps float64" in parity["detail"]
    assert checks[("brian2", "genn")]["status"] == UNAVAILABLE
    assert "GENN_PATH" in checks[("brian2", "genn")]["detail"] or (
        "brian2genn" in checks[("brian2", "genn")]["detail"]
    )
    run = checks[("brian2", "cuda_standalone run")]
    assert (run["status"] == OK) == cuda_gpu_present()
    assert checks[("torch", "devices")]["detail"].startswith("cpu")
    assert ("cuda" in checks[("torch", "devices")]["detail"]) == torch.cuda.is_available()
    assert report["versions"]["brian2"] == "2.8.0"
    assert report["versions"]["torch"].startswith(torch.__version__.split("+")[0])


def test_cuda_build_compiles_and_links_a_project() -> None:
    """--cuda-build: brian2cuda's own makefile, every file a translation unit, linked."""
    from spikebridge.brian import cuda_build
    from spikebridge.doctor import _cuda_build
    from spikebridge.errors import DeviceUnavailableError

    try:
        cuda_build.require_brian2cuda()
        cuda_build.find_toolkit()
    except DeviceUnavailableError as exc:
        pytest.skip(f"cuda_standalone cannot compile here: {exc}")
    status, detail = _cuda_build(True)
    assert status == OK, detail
    assert detail.startswith("compiles and links for sm_90")
