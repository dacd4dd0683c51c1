"""Every spike-train metric on hand-made trains with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikebridge.studies.metrics import (
    coincidence_count,
    coincidence_factor,
    gamma_error,
    gamma_factor,
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


def _jittered_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A reference train (ISIs >= 10 ms) and a copy jittered by up to 3 ms with some spikes
    dropped: every spike has at most one partner within 2 ms, on a 0.1 ms grid."""
    rng = np.random.default_rng(seed)
    reference = np.cumsum(rng.uniform(10, 30, 40)).round(1) + 0.05
    jitter = rng.uniform(-3, 3, len(reference)).round(1)
    model = (reference + jitter)[rng.random(len(reference)) > 0.2]
    return reference, np.sort(model)


def test_gamma_factor_known_values() -> None:
    ref, _ = _jittered_pair(0)
    duration = float(ref[-1] + 10)
    assert gamma_factor(ref, ref, duration) == pytest.approx(1.0)
    assert gamma_error(ref, ref, duration) == pytest.approx(0.0)
    assert math.isnan(gamma_factor([], [1.0], 100.0))
    # half of the spikes missing: rate term 1 + 2 * 0.5 = 2
    half = ref[::2]
    gamma = gamma_factor(ref, half, duration)
    assert gamma_error(ref, half, duration) == pytest.approx(2 - gamma)
    assert gamma_error(ref, half, duration, rate_correction=False) == pytest.approx(1 - gamma)


def test_gamma_factor_equals_the_coincidence_factor_at_equal_rates() -> None:
    # with equal counts and one partner per spike the two normalisations coincide
    rng = np.random.default_rng(3)
    ref = np.cumsum(rng.uniform(10, 30, 30)) + 0.05
    model = ref + rng.uniform(-3, 3, len(ref))
    duration = float(ref[-1] + 10)
    assert gamma_factor(ref, model, duration) == pytest.approx(
        coincidence_factor(ref, model, duration)
    )


def test_gamma_factor_of_independent_trains_is_about_zero() -> None:
    rng = np.random.default_rng(1)
    values = [
        gamma_factor(np.sort(rng.uniform(0, 1000, 20)), np.sort(rng.uniform(0, 1000, 20)), 1000.0)
        for _ in range(400)
    ]
    assert abs(float(np.mean(values))) < 0.05


def test_gamma_factor_on_a_grid_counts_in_steps() -> None:
    ref = np.array([10.0, 30.0, 50.0])
    model = np.array([12.04, 30.0, 47.96])  # 2.04 ms off: outside 2 ms, but 20 steps of 0.1
    assert gamma_factor(ref, model, 100.0, dt=0.1) > gamma_factor(ref, model, 100.0)


@pytest.mark.parametrize("tau", [1.0, 5.0, 20.0])
def test_van_rossum_against_elephant(tau: float) -> None:
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    elephant = pytest.importorskip("elephant.spike_train_dissimilarity")
    rng = np.random.default_rng(int(tau))
    for _ in range(5):
        a, b = np.sort(rng.uniform(0, 200, 25)), np.sort(rng.uniform(0, 200, 18))
        trains = [neo.SpikeTrain(x * pq.ms, t_stop=200 * pq.ms) for x in (a, b)]
        theirs = elephant.van_rossum_distance(trains, time_constant=tau * pq.ms)[0, 1]
        # elephant normalises to 1 for one spike against none: sqrt(2) times van Rossum's
        assert van_rossum_distance(a, b, tau) == pytest.approx(theirs / math.sqrt(2), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coincidences_against_elephants_cross_correlogram(seed: int) -> None:
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    pytest.importorskip("elephant")
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram

    reference, model = _jittered_pair(seed)
    t_stop = float(max(reference[-1], model[-1]) + 10)
    binned = [
        BinnedSpikeTrain(neo.SpikeTrain(x * pq.ms, t_stop=t_stop * pq.ms), bin_size=0.1 * pq.ms)
        for x in (model, reference)
    ]
    cch, _ = cross_correlation_histogram(*binned, window=[-20, 20])
    # the correlogram counts pairs within +-20 bins = 2 ms: with one partner per spike,
    # exactly Kistler's coincidences and the gamma factor's matched reference spikes
    pairs = int(np.asarray(cch).sum())
    assert pairs >= 20  # most of the 40 reference spikes have their partner
    assert coincidence_count(reference, model, 2.0) == pairs
    duration = t_stop
    rate = len(reference) / duration
    gamma = gamma_factor(reference, model, duration)
    expected = 2 * 2.0 * rate * len(reference)
    norm = 0.5 * (1 - 4.0 * rate)
    assert gamma == pytest.approx((pairs - expected) / (norm * (len(reference) + len(model))))
