"""Numerical backends. Each backend integrates the generated right-hand side; none knows the physiology.

=========  ======================================================  =======  =======  ====
backend    integrator                                              stiff    batched  GPU
=========  ======================================================  =======  =======  ====
scipy      BDF-numba (default: SciPy's BDF compiled end to end     yes      no       no
           with numba), LSODA (odeint) or BDF/Radau (solve_ivp);
           one segment per switch, symbolic Jacobian
jax        diffrax Kvaerno5, PID controller with jump_ts, jit+vmap yes      yes      yes
=========  ======================================================  =======  =======  ====

Both step exactly onto every schedule switch (meal start/end, dose, stressor on/off).
"""

BACKENDS = ("scipy", "jax")
CAPABILITIES = {
    "scipy": {"stiff": True, "batched": False, "gpu": False, "switches": "tcrit / segments"},
    "jax": {"stiff": True, "batched": True, "gpu": True, "switches": "jump_ts"},
}

__all__ = ["BACKENDS", "CAPABILITIES"]
