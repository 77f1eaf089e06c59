"""Helpers shared by the model zoo builders."""

# Keyword arguments a model passes on to its quantized layers (see bmxnet.nn).
QUANT_OPTIONS = ("bits", "bits_a", "weight_bit", "act_bit", "input_quantizer", "kernel_quantizer",
                 "weight_quantization", "clip_threshold", "scaling", "pad_value", "weight_bases",
                 "act_bases")
_CONV_ONLY = ("pad_value", "weight_bases", "act_bases")


def split_quant_options(kwargs):
    """(options for quantized layers, the other keyword arguments), from a model's kwargs."""
    if "activation" in kwargs:
        raise ValueError(f"activation={kwargs['activation']!r}: the model zoo's binary layers "
                         "take their input quantizer as input_quantizer= (activation= is "
                         "Gluon's output activation)")
    quant = {k: kwargs.pop(k) for k in list(kwargs) if k in QUANT_OPTIONS}
    return quant, kwargs


def dense_options(quant):
    """The options of `quant` that QDense takes (no padding, no ABC-Net bases)."""
    return {k: v for k, v in quant.items() if k not in _CONV_ONLY}


def check_pretrained(name, pretrained):
    if pretrained:
        raise ValueError(f"{name}: no pretrained weights are shipped (nothing is downloaded); "
                         "train with examples/ and load_parameters() the result")
