import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow (long simulations)")


def pytest_collection_modifyitems(config, items):
    gpu = False
    try:
        import jax

        gpu = any(d.platform == "gpu" for d in jax.devices())
    except Exception:
        gpu = False
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: long simulation; run with --runslow"))
        if "gpu" in item.keywords and not gpu:
            item.add_marker(pytest.mark.skip(reason="gpu: no CUDA GPU visible to JAX"))


@pytest.fixture(scope="session")
def model():
    import gutbrain

    return gutbrain.load_model()


@pytest.fixture(scope="session")
def shared_data():
    here = os.path.dirname(__file__)
    return os.path.abspath(os.path.join(here, "..", "..", "shared", "data"))
