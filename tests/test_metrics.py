"""Every spike-train metric on hand-made trains with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikebridge.studies.metrics import (
    coincidence_factor,
    isi_difference,
    normalised_spike_time_error,
    spike_count_relative_error,
    van_rossum_distance,
)
from spikebridge.studies.waveforms import PAPER, bin_means, waveform


def test_spike_count_relative_error() -> None:
    assert spike_count_relative_error([1, 2, 3, 4], [1, 2, 3]) == 0.25
    assert spike_count_relative_error([1, 2], [1, 2, 3, 4, 5]) == 1.5
    assert math.isnan(spike_count_relative_error([], [1.0]))


def test_normalised_spike_time_error() -> None:
    # reference ISI 10 ms; each model spike 1 ms late: (3 * 1) / 3 / 10 = 0.1
    assert normalised_spike_time_error([10, 20, 30], [11, 21, 31]) == pytest.approx(0.1)
    assert normalised_spike_time_error([10, 20, 30], [10, 20, 30]) == 0.0
    assert math.isnan(normalised_spike_time_error([10, 20, 30], [10, 20]))


def test_isi_difference_excludes_the_first_interval() -> None:
    # reference ISIs 10, 10, 10 -> 10; model ISIs 50 (ignored), 12, 12 -> 12
    assert isi_difference([0, 10, 20, 30], [0, 50, 62, 74]) == pytest.approx(2.0)


def test_coincidence_factor_identical_trains_is_one() -> None:
    train = np.arange(5, 80, 10.0)
    assert coincidence_factor(train, train, duration=80) == pytest.approx(1.0)


def test_coincidence_factor_by_hand() -> None:
    # 4 reference spikes, model has 4 spikes, 2 of them within 2 ms of a reference spike.
    ref = [10, 30, 50, 70]
    model = [11, 29.5, 45, 60]
    rate, window = 4 / 100, 2.0
    expected = (2 - 2 * rate * window * 4) / (0.5 * 8) / (1 - 2 * rate * window)
    assert coincidence_factor(ref, model, duration=100, window=window) == pytest.approx(expected)


def test_coincidence_uses_each_model_spike_once() -> None:
    # two reference spikes 1 ms apart share one model spike: one coincidence only
    rate = 1 / 100
    expected = (1 - 2 * rate * 2 * 2) / (0.5 * 3) / (1 - 2 * rate * 2)
    assert coincidence_factor([10, 11], [10.5], duration=100) == pytest.approx(expected)


def test_van_rossum_distance() -> None:
    assert van_rossum_distance([10, 20], [10, 20]) == 0.0
    assert van_rossum_distance([10], []) == pytest.approx(math.sqrt(0.5))
    # two single spikes dt apart: D^2 = 1 - exp(-dt/tau)
    assert van_rossum_distance([10], [13], tau=5) == pytest.approx(math.sqrt(1 - math.exp(-3 / 5)))


def test_paper_waveforms() -> None:
    t = np.arange(0, 80, 0.001)
    square = waveform("square", t)
    assert set(np.unique(square)) == {24.5, -6.5}
    assert square[0] == 24.5 and waveform("square", np.array([4.0]))[0] == -6.5
    sine = waveform("sine", t)
    assert sine.min() == pytest.approx(-7.5, abs=1e-6) and sine.max() == pytest.approx(
        30.5, abs=1e-6
    )
    saw = waveform("sawtooth", t)
    assert saw.min() == pytest.approx(12) and saw.max() == pytest.approx(23, abs=1e-2)
    tri = waveform("triangle", t)
    assert tri.min() == pytest.approx(7, abs=1e-2) and tri.max() == pytest.approx(10.5)
    assert np.all(waveform("constant", t) == 9)
    assert np.allclose(waveform("triangle", t, level=2), 2 * tri)
    assert set(PAPER) == {"constant", "sine", "square", "sawtooth", "triangle"}


def test_bin_means() -> None:
    x = np.arange(6.0)
    assert bin_means(x, 3).tolist() == [1.0, 4.0]
