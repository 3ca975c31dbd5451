import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT, pack_words, parse, unpack_words
from flows.errors import ConfigError, NumericContractError
from flows.hwmodel.ranges import smallest_type


@pytest.mark.parametrize("t", [BIPOLAR, UINT(1), UINT(8), INT(2), INT(15)])
def test_encode_decode_round_trip(t):
    values = np.array([t.min, t.max, (t.min + t.max) // 2 if t != BIPOLAR else 1])
    assert np.array_equal(t.decode(t.encode(values)), values)


def test_bipolar_encoding_is_one_for_plus_one():
    assert BIPOLAR.encode(np.array([1, -1])).tolist() == [1, 0]


def test_int_encoding_is_twos_complement():
    assert INT(4).encode(np.array([-1, -8, 7])).tolist() == [0xF, 0x8, 0x7]


def test_pack_lane_zero_in_lsbs():
    assert pack_words(np.array([1, 2, 3, 4]), bits=4, lanes=2) == [0x21, 0x43]
    assert unpack_words([0x21, 0x43], bits=4, lanes=2).tolist() == [1, 2, 3, 4]


def test_smallest_type():
    assert smallest_type(0, 255) == UINT(8)
    assert smallest_type(-128, 127) == INT(8)
    assert smallest_type(-129, 0) == INT(9)
    assert smallest_type(-16320, 16320) == INT(15)


def test_check_names_the_tensor():
    with pytest.raises(NumericContractError, match="weights holds values outside BIPOLAR"):
        BIPOLAR.check(np.array([1, 0, -1]), "weights")


def test_parse_round_trip_and_error():
    assert parse("INT12") == INT(12) and parse(str(UINT(3))) == UINT(3)
    with pytest.raises(ConfigError, match="unknown data type 'FLOAT'"):
        parse("FLOAT")
