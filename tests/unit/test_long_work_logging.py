"""What long work says in its log: numba's one-time compilation announced with its expected
and actual time (nothing on a warm cache), progress with rate and time left (bands gap map,
LLG batches), each warning once on one line and summarised at the end of the stage's log and in
summary.txt, and Dask shutting down without killing its workers."""

import importlib
import logging
import sys
import time
import warnings

import numpy as np
import pytest

from magcore import _numba, stages
from magcore.cluster import dask_client
from magcore.config import validate
from magcore.engine.progress import Progress, WarningSummary, warning_summary_in
from magcore.store import write_summary

KERNEL_SOURCE = '''
from magcore._numba import kernel


@kernel
def twice_plus_one(x):
    return 2.0 * x + 1.0


def call(x):
    return twice_plus_one(x)
'''


@pytest.fixture
def restore_logging():
    """Undo configure_logging (root handlers and level) after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            h.close()
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def fresh_announcement(monkeypatch):
    """This process has not announced a compilation yet."""
    monkeypatch.setattr(_numba.COMPILE_LOG, "announced", False)
    for f in _numba.log.filters:
        monkeypatch.setattr(f, "seen", False)


def messages(caplog, name):
    return [r.getMessage() for r in caplog.records if r.name.startswith(name)]


def test_a_cold_compile_is_announced_with_expected_and_actual_time_and_a_warm_one_says_nothing(
        tmp_path, monkeypatch, caplog, fresh_announcement):
    (tmp_path / "cold_kernel.py").write_text(KERNEL_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cold_kernel

    with caplog.at_level(logging.INFO, logger="magcore.numba"):
        assert cold_kernel.call(1.0) == 3.0
    said = messages(caplog, "magcore.numba")
    assert len(said) == 2, said
    assert said[0].startswith("compiling the numba kernels once (about 10 s for two-band models, 80 s")
    assert "cached in" in said[0]
    assert said[1].startswith("compiled twice_plus_one in ") and "s CPU" in said[1]
    assert list(tmp_path.glob("__pycache__/cold_kernel.twice_plus_one-*.nbi"))  # the cache index numba wrote

    caplog.clear()
    warm = importlib.reload(cold_kernel)  # a new dispatcher: it loads the cached code
    with caplog.at_level(logging.INFO, logger="magcore.numba"):
        assert warm.call(2.0) == 5.0
    assert messages(caplog, "magcore.numba") == []
    sys.modules.pop("cold_kernel", None)


def test_the_announcement_passes_once_per_process(caplog, fresh_announcement):
    with caplog.at_level(logging.INFO, logger="magcore.numba"):
        for _ in range(2):  # as from two Dask workers
            _numba.log.info(_numba.ANNOUNCEMENT, _numba.expected_compile_time(), _numba.cache_folders())
        _numba.log.info("compiled f in 1 s (1 s CPU)")
    assert [m[:9] for m in messages(caplog, "magcore.numba")] == ["compiling", "compiled "]


def test_progress_states_rate_and_time_left(caplog):
    with caplog.at_level(logging.INFO, logger="magcore.engine"):
        p = Progress("bands: gap map", 10, every=0.0, unit="directions")
        p.update(4)
        p.update(10)
        q = Progress("llg: batch", 5, every=1e9, unit="trajectories", last_line=False)
        q.update(5.0)
    said = messages(caplog, "magcore.engine")
    assert len(said) == 2, said
    assert said[0].startswith("bands: gap map: 4/10 directions (40%), ") and "directions/s, ~" in said[0]
    assert said[0].endswith(" s left")
    assert said[1].startswith("bands: gap map: 10/10 directions (100%)")


def test_the_bands_gap_map_logs_a_rate_not_a_count_per_chunk(tmp_path, caplog):
    cfg = validate({"study": "gap", "results_dir": str(tmp_path), "model": {"name": "qwz", "parameters": {"u": 1.0}},
                    "mesh": {"n_k": 8}, "sphere": {"n_theta": 5, "n_phi": 4}, "bands": {"path_points": 11},
                    "electrons": {"filling": 1}})
    with caplog.at_level(logging.INFO), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stages.run_bands(cfg, tmp_path / "bands.zarr", gap_chunk=3)  # 7 chunks of directions
    gap_lines = [m for m in messages(caplog, "magcore") if "gap map" in m and "directions" in m and "/" in m]
    assert gap_lines == [m for m in gap_lines if "directions/s" in m] and len(gap_lines) <= 2, gap_lines
    assert gap_lines[-1].startswith("bands: gap map: 20/20 directions (100%)")


def test_an_llg_batch_logs_its_progress_with_rate_and_time_left(caplog):
    from magcore.llg.integrate import integrate

    def precession(m, idx):
        return np.cross(np.array([0.0, 0.0, 1.0]), m)

    m0 = np.tile([1.0, 0.0, 0.0], (4, 1))
    with caplog.at_level(logging.INFO, logger="magcore.engine"):
        integrate(precession, m0, 50.0, rtol=1e-10, atol=1e-12, progress_every=1e-9)
    said = messages(caplog, "magcore.engine")
    assert said and all(m.startswith("llg: batch of 4 trajectories: ") for m in said)
    assert "trajectories/s, ~" in said[0] and said[0].endswith(" s left; 4 still running")


def test_a_warning_is_one_log_line_and_ends_up_in_the_stage_summary(tmp_path, restore_logging):
    path = tmp_path / "logs" / "bands.log"
    with stage_warnings(path):
        warnings.warn("the gap at mu closes at 3 of 20 directions", RuntimeWarning)
        logging.getLogger("magcore.figures_stage").warning("figures: Fig. 2.4 not drawn")
    text = path.read_text()
    assert text.count("the gap at mu closes") == 2  # the warning, then the summary
    line = next(li for li in text.splitlines() if "py.warnings" in li)
    assert line.endswith("WARNING: RuntimeWarning: the gap at mu closes at 3 of 20 directions")
    assert ".py:" not in text  # no source path and line
    assert warning_summary_in(text) == ["RuntimeWarning: the gap at mu closes at 3 of 20 directions",
                                        "figures: Fig. 2.4 not drawn"]


def stage_warnings(path):
    return stages.stage_log(path)


def test_the_summary_counts_repeated_warnings_once():
    summary = WarningSummary()
    logger = logging.getLogger("magcore.test_summary")
    logger.addHandler(summary)
    try:
        for _ in range(3):
            logger.warning("NaN at %d points", 5)
    finally:
        logger.removeHandler(summary)
    assert summary.text() == "warnings of this stage: 3\n  NaN at 5 points (x3)"


def test_summary_txt_lists_the_warnings_of_the_stage_logs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "bands.log").write_text("2026 magcore.stages INFO: bands: wrote x\n2026 magcore.stages INFO: "
                                    "warnings of this stage: 1\n  RuntimeWarning: the gap closes\n")
    (logs / "llg.log").write_text("2026 magcore.stages INFO: warnings of this stage: 0\n")
    (logs / "old.log").write_text("a log of an older version, without a summary\n")
    out = write_summary([], tmp_path / "summary.txt", sorted(logs.glob("*.log")))
    assert out.read_text().strip().splitlines() == [
        "== warnings of the stages", "   bands.log: 1 warning", "      RuntimeWarning: the gap closes",
        "   llg.log: no warnings"]


def _compile_in_a_worker(source_dir):
    sys.path.insert(0, source_dir)
    import worker_kernel

    return worker_kernel.call(3.0)


def _exit_slowly():
    """Make this worker process take 6 s to exit (longer than Dask's own 4 s grace)."""
    import atexit

    atexit.register(time.sleep, 6.0)


def test_workers_forward_their_compile_log_and_exit_without_being_killed(tmp_path, caplog, fresh_announcement):
    (tmp_path / "worker_kernel.py").write_text(KERNEL_SOURCE)
    nanny_said = []

    class Collect(logging.Handler):
        def emit(self, record):
            nanny_said.append(record.getMessage())

    collect = Collect(logging.WARNING)
    nanny = logging.getLogger("distributed.nanny")
    nanny.addHandler(collect)
    try:
        with caplog.at_level(logging.INFO, logger="magcore"), dask_client(2) as client:
            stages.forward_worker_logs(client)
            assert client.submit(_compile_in_a_worker, str(tmp_path), pure=False).result() == 7.0
            client.run(_exit_slowly)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("compiled twice_plus_one" in m
                                                           for m in messages(caplog, "magcore.numba")):
                time.sleep(0.2)
    finally:
        nanny.removeHandler(collect)
    said = messages(caplog, "magcore.numba")
    assert any(m.startswith("compiling the numba kernels once") for m in said), said
    assert any(m.startswith("compiled twice_plus_one in ") for m in said), said
    assert not [m for m in nanny_said if "killing" in m], nanny_said


def _warn_in_a_worker():
    warnings.warn("the wall's mesh is coarse near x = 0.5", RuntimeWarning)
    return 1


def test_a_warning_raised_in_a_dask_task_reaches_the_stage_log_once(tmp_path, restore_logging):
    path = tmp_path / "logs" / "sphere.log"
    with stage_warnings(path), dask_client(1) as client:
        stages.forward_worker_logs(client)
        assert client.submit(_warn_in_a_worker, pure=False).result() == 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "coarse near" not in path.read_text():
            time.sleep(0.2)
    text = path.read_text()
    assert text.count("WARNING: RuntimeWarning: the wall's mesh is coarse near x = 0.5") == 1
    assert warning_summary_in(text) == ["RuntimeWarning: the wall's mesh is coarse near x = 0.5"]
