"""bmxnet.params_io against MXNet's own mx.nd.save / mx.nd.load, and on damaged files."""
import os
import struct

import mxnet as mx
import numpy as np
import pytest

from bmxnet import params_io
from bmxnet.params_io import ParamsFormatError

DTYPES = ["float32", "int32", "float64", "int64", "uint8", "float16", "int8"]


def _sample(dtype, shape, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.uniform(-100, 100, size=shape) if dtype.startswith("float")
            else rng.randint(0, 100, size=shape)).astype(dtype)


def _assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reads_what_mxnet_writes(tmp_path, dtype):
    arrays = {"arg:w": _sample(dtype, (3, 4, 5)), "aux:v": _sample(dtype, (7,), seed=1),
              "scalar_like": _sample(dtype, (1,), seed=2)}
    path = str(tmp_path / "m.params")
    mx.nd.save(path, {k: mx.nd.array(v, dtype=dtype) for k, v in arrays.items()})
    loaded = params_io.load(path)
    assert list(loaded) == list(arrays)
    for name, value in arrays.items():
        _assert_same(loaded[name], value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mxnet_reads_what_we_write_byte_for_byte(tmp_path, dtype):
    arrays = {"arg:a": _sample(dtype, (2, 33)), "b": _sample(dtype, (4, 1, 2, 3), seed=3)}
    ours, theirs = str(tmp_path / "ours.params"), str(tmp_path / "theirs.params")
    params_io.save(ours, arrays)
    mx.nd.save(theirs, {k: mx.nd.array(v, dtype=dtype) for k, v in arrays.items()})
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    loaded = mx.nd.load(ours)
    assert list(loaded) == list(arrays)
    for name, value in arrays.items():
        _assert_same(loaded[name].asnumpy(), value)


def test_list_without_names_round_trips(tmp_path):
    arrays = [_sample("float32", (2, 2)), _sample("int64", (3,), seed=1)]
    path = str(tmp_path / "list.params")
    mx.nd.save(path, [mx.nd.array(a, dtype=a.dtype) for a in arrays])
    loaded = params_io.load(path)
    assert isinstance(loaded, list) and len(loaded) == 2
    for got, want in zip(loaded, arrays):
        _assert_same(got, want)
    assert params_io.dumps(arrays) == open(path, "rb").read()


@pytest.mark.parametrize("empty", [[], {}])
def test_empty_list(tmp_path, empty):
    path = str(tmp_path / "empty.params")
    mx.nd.save(path, empty)
    assert params_io.load(path) == []
    assert params_io.dumps(empty) == open(path, "rb").read()


def test_zero_size_array(tmp_path):
    path = str(tmp_path / "z.params")
    mx.nd.save(path, {"z": mx.nd.array([], dtype="int32")})
    z = params_io.load(path)["z"]
    assert z.shape == (0,) and z.dtype == np.int32
    params_io.save(path, {"z": np.zeros((0,), np.float64)})
    assert mx.nd.load(path)["z"].shape == (0,)


def test_zero_dim_and_zero_size_dims_use_numpy_shape_semantics(tmp_path):
    theirs = str(tmp_path / "np.params")
    with mx.util.np_shape(True):
        mx.nd.save(theirs, {"s": mx.nd.array(np.array(3.5)), "z": mx.nd.zeros((2, 0, 3))})
    loaded = params_io.load(theirs)
    assert loaded["s"].shape == () and loaded["s"] == 3.5
    assert loaded["z"].shape == (2, 0, 3)

    ours = str(tmp_path / "ours.params")
    params_io.save(ours, {"s": np.array(3.5, np.float32), "z": np.zeros((2, 0, 3), np.float32)})
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    with mx.util.np_shape(True):
        back = mx.nd.load(ours)
    assert back["s"].shape == () and back["s"].asscalar() == 3.5
    assert back["z"].shape == (2, 0, 3)


def test_non_contiguous_and_big_endian_arrays_are_written_correctly(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    b = np.arange(5, dtype=">i4")
    path = str(tmp_path / "x.params")
    params_io.save(path, {"a": a, "b": b})
    loaded = mx.nd.load(path)
    np.testing.assert_array_equal(loaded["a"].asnumpy(), a)
    np.testing.assert_array_equal(loaded["b"].asnumpy(), b)
    assert loaded["b"].dtype == np.int32


def test_loaded_arrays_are_writeable_and_native():
    data = params_io.dumps({"a": np.ones((2, 2), np.float32)})
    a = params_io.loads(data)["a"]
    a[0, 0] = 5  # must own its memory
    assert a.dtype.isnative


def test_legacy_v1_and_pre_v1_layouts():
    payload = np.arange(6, dtype=np.float32)
    v1 = (struct.pack("<IIqq", params_io.V1_MAGIC, 2, 2, 3) + struct.pack("<iii", 1, 0, 0)
          + payload.tobytes())
    pre_v1 = struct.pack("<III", 2, 3, 2) + struct.pack("<iii", 1, 0, 0) + payload.tobytes()
    for body, shape in ((v1, (2, 3)), (pre_v1, (3, 2))):
        data = struct.pack("<QQQ", 0x112, 0, 1) + body + struct.pack("<Q", 1) \
            + struct.pack("<Q", 1) + b"w"
        _assert_same(params_io.loads(data)["w"], payload.reshape(shape))


def test_save_rejects_dtypes_mxnet_cannot_hold():
    with pytest.raises(TypeError):
        params_io.dumps({"c": np.zeros(2, np.complex64)})


# ---------------------------------------------------------------------------------------------
# Damaged and foreign files: always ParamsFormatError (a ValueError), one sentence.
# ---------------------------------------------------------------------------------------------

def _good_bytes():
    return params_io.dumps({"arg:w": np.arange(12, dtype=np.float32).reshape(3, 4),
                            "aux:m": np.arange(3, dtype=np.int64)})


def _assert_format_error(data, match=None):
    with pytest.raises(ParamsFormatError, match=match) as info:
        params_io.loads(data, source="x.params")
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message and message.startswith("x.params is not a valid MXNet .params")


def test_empty_file(tmp_path):
    path = tmp_path / "e.params"
    path.write_bytes(b"")
    with pytest.raises(ParamsFormatError, match="empty") as info:
        params_io.load(str(path))
    assert str(path) in str(info.value)


def test_every_truncation_is_an_error():
    data = _good_bytes()
    for n in range(len(data)):
        _assert_format_error(data[:n])


def test_trailing_bytes_are_an_error():
    _assert_format_error(_good_bytes() + b"\0", match="unexpected bytes")


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes(seed):
    rng = np.random.RandomState(seed)
    _assert_format_error(rng.bytes(rng.randint(1, 4096)))


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_after_a_valid_list_header(seed):
    rng = np.random.RandomState(seed)
    header = struct.pack("<QQQ", 0x112, 0, rng.randint(1, 5))
    _assert_format_error(header + rng.bytes(rng.randint(0, 2048)))


@pytest.mark.parametrize("seed", range(10))
def test_corrupted_single_bytes_never_crash(seed):
    rng = np.random.RandomState(seed)
    data = bytearray(_good_bytes())
    for _ in range(3):
        data[rng.randint(len(data))] = rng.randint(256)
    try:
        params_io.loads(bytes(data))
    except ParamsFormatError:
        pass  # a flipped data byte can still be a valid file; anything else must be this error


@pytest.mark.parametrize("data", [
    b'{"nodes": [], "heads": []}\n',
    b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    b"PK\x03\x04" + b"\0" * 64,
    b"\x93NUMPY" + b"\0" * 64,
])
def test_foreign_files(data):
    _assert_format_error(data)


def test_huge_counts_are_refused_before_allocating():
    head = struct.pack("<QQ", 0x112, 0)
    _assert_format_error(head + struct.pack("<Q", 1 << 62) + b"\0" * 64, match="claims")
    # One array whose shape claims 2**40 elements of float32.
    arr = struct.pack("<Iiiqq", params_io.V2_MAGIC, 0, 2, 1 << 20, 1 << 20) + \
        struct.pack("<iii", 1, 0, 0)
    _assert_format_error(head + struct.pack("<Q", 1) + arr + b"\0" * 64, match="ends inside")
    # A name length of 2**60.
    names = struct.pack("<QQ", 1, 1 << 60)
    _assert_format_error(head + struct.pack("<Q", 0) + names + b"abc", match="ends inside")


def _one_array(magic=params_io.V2_MAGIC, stype=0, ndim=1, dims=(2,), dev=1, flag=0):
    return (struct.pack("<QQQ", 0x112, 0, 1)
            + struct.pack(f"<Iii{len(dims)}q", magic, stype, ndim, *dims)
            + struct.pack("<iii", dev, 0, flag) + b"\0" * 8 + struct.pack("<Q", 0))


@pytest.mark.parametrize("kwargs, match", [
    (dict(stype=1), "sparse"),
    (dict(flag=99), "dtype flag 99"),
    (dict(flag=12), "bfloat16"),
    (dict(dev=77), "device type"),
    (dict(ndim=1000), "dimensions"),
    (dict(dims=(-2,)), "negative"),
    (dict(magic=0xDEADBEEF), "NDArray header"),
])
def test_bad_headers(kwargs, match):
    assert params_io.loads(_one_array())[0].shape == (2,)  # the template itself is valid
    _assert_format_error(_one_array(**kwargs), match=match)


def test_names_must_match_arrays_and_be_utf8():
    base = params_io.dumps([np.zeros(1, np.float32)])[:-8]
    _assert_format_error(base + struct.pack("<QQ", 2, 1) + b"a" + struct.pack("<Q", 1) + b"b",
                         match="1 arrays but 2 names")
    _assert_format_error(base + struct.pack("<QQ", 1, 2) + b"\xff\xfe", match="UTF-8")
    _assert_format_error(params_io.dumps([np.zeros(1, np.float32)] * 2)[:-8]
                         + struct.pack("<QQ", 2, 1) + b"a" + struct.pack("<Q", 1) + b"a",
                         match="twice")


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        params_io.load(os.path.join(str(tmp_path), "nope.params"))
