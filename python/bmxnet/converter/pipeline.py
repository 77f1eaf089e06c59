"""``convert``: the passes of a conversion, from the exported files to the packed ones."""

import json
import os

from .. import pairing, params_io
from ..model_files import PACKED_OPS
from ..export import record_input_shape, recorded_input_shape
from .conversion import Conversion
from .errors import ConversionError
from .files import (check_out_prefix, check_outputs, make_output_dir, output_paths, read_model,
                    write_atomically)
from .params import check_params
from .passes import PASSES
from .report import ConversionReport




def convert(symbol_path, params_path, out_prefix=None, verbose=True,
            fold_batchnorm=True, input_shape=None) -> ConversionReport:
    """Convert an exported training graph into a packed binary model.

    Writes ``binarized_<prefix>-symbol.json`` and ``binarized_<prefix>-NNNN.params`` beside
    `params_path` (or ``<out_prefix>-symbol.json`` / ``<out_prefix>-NNNN.params``) and returns
    a :class:`ConversionReport`; `verbose` also prints it. Raises :class:`ConversionError` on
    bad input or an unwritable destination, leaving no output behind. The input is never
    modified. The input shape recorded at export (:mod:`bmxnet.export`) is kept;
    `input_shape` (batch 1, e.g. (1, 1, 28, 28)) records or replaces it. A model that is
    already converted is refused.
    """
    symbol_path, params_path = os.fspath(symbol_path), os.fspath(params_path)
    out_prefix = check_out_prefix(out_prefix)
    # 1. read and validate the exported model
    graph, params, sym_size, params_size = read_model(symbol_path, params_path)
    check_params(graph, params, symbol_path)
    # 2. choose the output files before any work
    sym_out, params_out = output_paths(symbol_path, params_path, out_prefix)
    check_outputs((sym_out, params_out), (symbol_path, params_path))
    # 3. rewrite the graph: the passes (passes.PASSES) match, fold, pack and replace the layers
    conversion = Conversion(graph, params, symbol_path, fold_batchnorm)
    for run in PASSES:
        run(conversion)
    packed = sorted({n.op for n in graph.nodes if n.op in PACKED_OPS})
    if not conversion.layers and packed:
        raise ConversionError(f"{symbol_path} is already converted (it has {' and '.join(packed)} "
                              "ops and no binary layer left to convert); nothing written. "
                              "Use it as it is, or convert the model exported after training")
    sym, out_params = conversion.result()
    if input_shape is not None:
        try:
            record_input_shape(sym, (1,) + tuple(input_shape)[1:])
        except ValueError as e:
            raise ConversionError(f"cannot record --input-shape: {e}") from None
    recorded = recorded_input_shape(sym)
    # 4. write both files, the symbol with the id of the params (bmxnet.pairing); the symbol
    # is renamed into place first, so a crash between the renames leaves a new symbol beside
    # the old params (or none), which readers refuse, never an old symbol that cannot tell
    params_bytes = params_io.dumps(out_params)
    pairing.record_params_id(sym, params_bytes)
    sym_bytes = json.dumps(sym, indent=2).encode("utf-8")
    make_output_dir(sym_out)
    write_atomically([(sym_out, sym_bytes), (params_out, params_bytes)])
    # 5. report
    report = ConversionReport(symbol_path, params_path, sym_out, params_out,
                              conversion.converted(), conversion.skipped, sym_size + params_size,
                              len(sym_bytes) + len(params_bytes), params_size, len(params_bytes),
                              recorded)
    if verbose:
        print(report.format())
    return report
