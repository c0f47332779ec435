"""The SIMD-lane eigensolver (magcore.linalg.lane_eigensolver) against LAPACK and the per-matrix solver.

Lanes of one block converge in different numbers of QL sweeps and take part in the 2 x 2 split
at different stages; the blocks below mix random, diagonal, zero, block-diagonal and exactly
degenerate matrices so that the masked lock-step paths are exercised in the same block.
"""

import numpy as np
import pytest

from magcore.linalg import _lane_codegen, _lane_kernels
from magcore.linalg.eigh import _eigh_batch
from magcore.linalg.lane_eigensolver import LANES, _heev_lanes, _lane_buffers, _lane_work, block_solver, eigh_lanes


def random_hermitian(rng, shape, n):
    A = rng.normal(size=shape + (n, n)) + 1j * rng.normal(size=shape + (n, n))
    return 0.5 * (A + np.conj(np.swapaxes(A, -1, -2)))


def projectors(U):
    return np.einsum("...ai,...bi->...iab", U, U.conj())


def mixed_batch(rng, n, count):
    Q, _ = np.linalg.qr(rng.normal(size=(count, n, n)) + 1j * rng.normal(size=(count, n, n)))
    spectrum = np.repeat(np.arange(n) // 2, 1).astype(float)  # pairs of exact degeneracies
    degenerate = np.einsum("sai,i,sbi->sab", Q, spectrum, Q.conj())
    special = [np.zeros((n, n)), np.diag(rng.normal(size=n)), np.diag(np.arange(n, 0, -1.0)),
               np.eye(n), np.kron(np.eye(2), random_hermitian(rng, (), n // 2)) if n % 2 == 0 else np.eye(n)]
    scaled = random_hermitian(rng, (count,), n) * 10.0 ** rng.uniform(-3, 3, (count, 1, 1))
    H = np.concatenate([scaled, degenerate, np.array(special, dtype=complex)])
    return H[rng.permutation(len(H))]  # special lanes scattered over the blocks


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
def test_lane_eigensolver_matches_lapack(n):
    rng = np.random.default_rng(10 + n)
    H = mixed_batch(rng, n, 3 * LANES + 5)  # not a multiple of LANES: a padded last block
    E, U = eigh_lanes(H)
    E0, U0 = np.linalg.eigh(H)
    scale = np.maximum(np.abs(E0).max(axis=-1, keepdims=True), 1e-300)
    assert np.max(np.abs(E - E0) / scale) < 1e-12
    assert np.max(np.abs(np.einsum("...ai,...aj->...ij", U.conj(), U) - np.eye(n))) < 1e-12
    assert np.max(np.abs(H @ U - U * E[..., None, :]) / scale[..., None]) < 1e-12
    # projectors on non-degenerate eigenvalues are unique: compare them where the gap is clear
    gap = np.min(np.abs(np.diff(E0, axis=-1)), axis=-1) > 1e-6 * scale[:, 0]
    assert gap.sum() > 2 * LANES
    P, P0 = projectors(U[gap]), projectors(U0[gap])
    assert np.max(np.abs(P - P0)) < 1e-9


def test_lane_eigensolver_agrees_with_per_matrix_solver_on_model_matrices():
    from magcore.models import get_model

    model = get_model("tmd")
    rng = np.random.default_rng(3)
    k = rng.uniform(-np.pi, np.pi, (4 * LANES, 2))
    m = rng.normal(size=(4 * LANES, 3))
    H = model.hamiltonian(k, m / np.linalg.norm(m, axis=-1, keepdims=True))
    E, U = eigh_lanes(H)
    H = H.reshape(-1, 6, 6)
    E1, U1 = np.empty((len(H), 6)), np.empty((len(H), 6, 6), complex)
    _eigh_batch(H, E1, U1, True)  # the per-matrix solver (linalg.eigh would use lanes)
    assert np.max(np.abs(E - E1)) < 1e-13
    assert np.max(np.abs(projectors(U) - projectors(U1))) < 1e-10


def test_lanes_are_independent():
    # a lane's result does not depend on its neighbours in the block
    rng = np.random.default_rng(4)
    H = random_hermitian(rng, (LANES,), 6)
    E, U = eigh_lanes(H)
    H2 = H.copy()
    H2[1:] = np.diag(np.arange(6.0))  # the other lanes converge at once
    E2, U2 = eigh_lanes(H2)
    assert np.array_equal(E[0], E2[0]) and np.array_equal(U[0], U2[0])


def test_generated_kernels_are_up_to_date():
    # magcore/linalg/_lane_kernels.py is what the generator writes (python -m magcore.linalg._lane_codegen)
    with open(_lane_kernels.__file__) as fh:
        assert fh.read() == _lane_codegen.generate(_lane_codegen.SIZES, LANES)


def _solve_block(H, generated):
    n = H.shape[-1]
    W, Hr, Hi, E, Ur, Ui = _lane_buffers(n, LANES)
    Hr[:] = np.moveaxis(H.real, 0, -1)
    Hi[:] = np.moveaxis(H.imag, 0, -1)
    if generated:
        assert _lane_kernels.heev_fixed(W, n)
    else:
        _heev_lanes(Hr, Hi, LANES, E, Ur, Ui, _lane_work(n, LANES))
    return E.T.copy(), np.moveaxis(Ur + 1j * Ui, -1, 0)


@pytest.mark.parametrize("n", _lane_codegen.SIZES)
def test_generated_kernels_agree_with_generic_lane_solver(n):
    # same algorithm, operations reordered only in the Householder update: round-off agreement,
    # on blocks that mix every kind of lane (degenerate, zero, diagonal, scaled, ...)
    rng = np.random.default_rng(20 + n)
    H = mixed_batch(rng, n, 4 * LANES)
    for block in range(len(H) // LANES):
        Hb = H[block * LANES:(block + 1) * LANES]
        E, U = _solve_block(Hb, generated=True)
        E1, U1 = _solve_block(Hb, generated=False)
        scale = np.maximum(np.abs(E1).max(axis=-1, keepdims=True), 1e-300)
        assert np.max(np.abs(E - E1) / scale) < 1e-13
        assert np.max(np.abs(Hb @ U - U * E[..., None, :]) / scale[..., None]) < 1e-12
        assert np.max(np.abs(np.einsum("...ai,...aj->...ij", U.conj(), U) - np.eye(n))) < 1e-12


def test_generated_kernels_only_for_their_sizes():
    n = max(_lane_codegen.SIZES) + 1
    W = _lane_buffers(n, LANES)[0]
    assert not _lane_kernels.heev_fixed(W, n)
    # the compile-time token selects the generated kernels exactly for their sizes
    for size in range(2, 10):
        assert (block_solver(size).dtype == np.int8) == (size in _lane_codegen.SIZES)
    with pytest.raises(ValueError, match="n >= 3"):
        _lane_codegen.generate((2,))
