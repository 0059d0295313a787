"""Measured peaks are kept on the site; without PyTorch the command says so."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from typer.testing import CliRunner

from suanli.cli import app
from suanli.domain.registry import Site
from suanli.domain.roles import SYSTEM
from suanli.services import registry
from suanli.services.calibrate import Measurement, record_measured_peak
from suanli.store.uow import UnitOfWork


def test_measurement_is_stored_as_the_sites_peak(world: Any) -> None:
    m = Measurement("test device", "bf16", 8192, 50, 701.26)
    with UnitOfWork(world) as uow:
        record_measured_peak(uow, SYSTEM, "bj-zgc-1", m)
    with UnitOfWork(world) as uow:
        site = registry.get(uow, SYSTEM, Site, "bj-zgc-1")
    assert site.measured_peak_tflops == {"bf16": 701.3}


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed")
def test_calibrate_without_pytorch_says_so() -> None:
    result = CliRunner().invoke(app, ["calibrate"])
    assert result.exit_code == 1
    assert "PyTorch is not installed" in result.output
