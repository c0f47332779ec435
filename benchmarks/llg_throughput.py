"""LLG throughput: trajectory-steps per second per core, magcore's batched Dormand-Prince vs
scipy.integrate.solve_ivp (RK45, the same vector LLG) one trajectory at a time, in one run.

    python benchmarks/llg_throughput.py [--n 10000] [--t-end 50]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from magcore.llg import edge_model, from_angles, integrate_llg  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="trajectories in the batch")
    parser.add_argument("--n-baseline", type=int, default=50, help="trajectories for the scipy baseline")
    parser.add_argument("--t-end", type=float, default=50.0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.05, np.pi - 0.05, args.n)
    phi = rng.uniform(0, 2 * np.pi, args.n)
    m0 = from_angles(theta, phi, "y")
    llg = edge_model(alpha=0.1, K_ti=-1.0, H=0.5)  # edge anisotropies + Zeeman (no singular points)

    t0 = time.process_time()
    res = integrate_llg(llg, m0, args.t_end, rtol=1e-8, atol=1e-10)
    t_fast = time.process_time() - t0
    steps_fast = int(np.sum(res.n_steps))

    def rhs(_, y):
        return llg.rate(y[None, :], np.array([0]))[0]

    t0 = time.process_time()
    steps_base = 0
    errs = []
    for i in range(args.n_baseline):
        sol = solve_ivp(rhs, (0, args.t_end), m0[i], method="RK45", rtol=1e-8, atol=1e-10)
        steps_base += sol.t.size - 1
        errs.append(np.linalg.norm(sol.y[:, -1] / np.linalg.norm(sol.y[:, -1]) - res.m[i]))
    t_base = time.process_time() - t0
    fast = steps_fast / t_fast
    base = steps_base / t_base
    print(f"{'method':<34} {'trajectories':>12} {'steps':>10} {'cpu s':>8} {'steps/s':>10}")
    print(f"{'magcore batched Dormand-Prince':<34} {args.n:>12} {steps_fast:>10} {t_fast:>8.2f} {fast:>10.3e}")
    print(f"{'scipy solve_ivp RK45, one by one':<34} {args.n_baseline:>12} {steps_base:>10} {t_base:>8.2f} {base:>10.3e}")
    print(f"ratio {fast / base:.1f}x; max |m_end difference| on the common trajectories {max(errs):.1e}; "
          f"max ||m|-1| {np.max(np.abs(np.linalg.norm(res.m, axis=-1) - 1)):.1e}")


if __name__ == "__main__":
    main()
