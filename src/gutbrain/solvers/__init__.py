"""Numerical backends. Each backend integrates the generated right-hand side; none knows the physiology.

=========  ======================================================  =======  =======  ====
backend    integrator                                              stiff    batched  GPU
=========  ======================================================  =======  =======  ====
scipy      BDF-split (default: SciPy's BDF compiled with numba,  yes      no       no
           glucose block first, rest second), BDF-numba (same
           BDF on the whole model), LSODA (odeint) or BDF/Radau
           (solve_ivp); one segment per switch, symbolic Jacobian
jax        diffrax Kvaerno5, PID controller with jump_ts, jit+vmap yes      yes      yes
=========  ======================================================  =======  =======  ====

Solvers are values (:mod:`gutbrain.solvers.registry`): ``simulate(..., solver="numba-bdf-split")``;
the backend strings above map onto them. Both step exactly onto every schedule switch (meal start/end, dose, stressor on/off); BDF-split
restarts each block only at switches of the inputs that block reads.
"""

BACKENDS = ("scipy", "jax", "roadrunner")
CAPABILITIES = {
    "scipy": {"stiff": True, "batched": False, "gpu": False, "switches": "tcrit / segments"},
    "jax": {"stiff": True, "batched": True, "gpu": True, "switches": "jump_ts"},
    "roadrunner": {"stiff": True, "batched": False, "gpu": False, "switches": "SBML events"},
}

__all__ = ["BACKENDS", "CAPABILITIES"]
