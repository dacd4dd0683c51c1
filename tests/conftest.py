"""Shared fixtures: engine/device parametrisation, GPU skipping, temporary model files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

#: Brian2 devices the parity suite runs on (the GPU devices join where they are installed).
BRIAN2_DEVICES = ("runtime", "cpp_standalone")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=BRIAN2_DEVICES)
def brian2_device(request: pytest.FixtureRequest) -> str:
    if shutil.which("g++") is None:
        pytest.skip("Brian2 code generation needs a C++ compiler")
    return str(request.param)


@pytest.fixture
def model_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a model file from text and return its path."""

    def write(text: str, name: str = "custom.py") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
