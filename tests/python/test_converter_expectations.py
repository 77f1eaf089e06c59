"""The conversion report names the binary layers that run below the kernels' best: input
channels that do not fill the packing word (their padded bits are computed too)."""
from test_converter import lenet_like

from bmxnet.converter import convert
from bmxnet.converter.expectations import below_best
from bmxnet.converter.report import BinaryLayer


def _layer(weight_shape, packed_shape):
    return BinaryLayer("q", "conv", weight_shape, packed_shape, 0, 0)


def test_padding_share():
    assert below_best(_layer((16, 64, 3, 3), (16, 3, 3, 2))) == []
    assert below_best(_layer((10, 64), (10, 2))) == []
    note, = below_best(_layer((16, 40, 3, 3), (16, 3, 3, 2)))
    assert note.startswith("40 input channels fill 64 packed bits: 38% of its binary work")
    note, = below_best(_layer((10, 8), (10, 1)))
    assert "75%" in note and "multiple of 32 channels" in note


def test_report_names_the_padded_layer(tmp_path):
    # qconv0 reads the float conv's 8 channels (one word, 24 bits padding); qdense0 reads
    # 40 * 6 * 6 = 1440 = 45 full words.
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    text = convert(sym_path, params_path, verbose=False).format()
    qconv = next(line for line in text.splitlines() if line.strip().startswith("qconv0"))
    qdense = next(line for line in text.splitlines() if line.strip().startswith("qdense0"))
    assert "8 input channels fill 32 packed bits: 75% of its binary work is padding" in qconv
    assert "padding" not in qdense
