import numpy as np
import pytest

from flows.frontend.qonnx_import import import_model, load
from flows.transforms import infer_types


@pytest.fixture(scope="session")
def digits_float_graph(digits_onnx):
    g = import_model(load(digits_onnx))
    infer_types(g)
    return g


@pytest.fixture(scope="session")
def digits_images():
    from sw.data import digits

    return digits().x_test[:, None, :].astype(np.int64)
