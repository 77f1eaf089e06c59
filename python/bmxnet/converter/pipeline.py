"""``convert``: the passes of a conversion, from the exported files to the packed ones."""

import json
import os

from .. import params_io
from .files import check_out_prefix, check_outputs, output_paths, read_model, write_atomically
from .params import check_params
from .report import ConversionReport
from .rewrite import Rewrite
from .v2_patterns import normalize_fork_ops


def convert(symbol_path, params_path, out_prefix=None, verbose=True,
            fold_batchnorm=True) -> ConversionReport:
    """Convert an exported training graph into a packed binary model.

    Writes ``binarized_<prefix>-symbol.json`` and ``binarized_<prefix>-NNNN.params`` beside
    `params_path` (or ``<out_prefix>-symbol.json`` / ``<out_prefix>-NNNN.params``) and returns
    a :class:`ConversionReport`; `verbose` also prints it. Raises :class:`ConversionError` on
    bad input or an unwritable destination, leaving no output behind. The input is never
    modified.
    """
    symbol_path, params_path = os.fspath(symbol_path), os.fspath(params_path)
    out_prefix = check_out_prefix(out_prefix)
    # 1. read and validate the exported model
    graph, params, sym_size, params_size = read_model(symbol_path, params_path)
    check_params(graph, params, symbol_path)
    normalize_fork_ops(graph)  # BMXNet v2's op names; forward-identity gradient shaping
    # 2. choose the output files before any work
    sym_out, params_out = output_paths(symbol_path, params_path, out_prefix)
    check_outputs((sym_out, params_out), (symbol_path, params_path))
    # 3. rewrite the layers: match, fold, pack (see rewrite.Rewrite)
    rewrite = Rewrite(graph, params, symbol_path, fold_batchnorm)
    rewrite.layers()
    sym, out_params = rewrite.result()
    # 4. write both files or neither
    sym_bytes = json.dumps(sym, indent=2).encode("utf-8")
    params_bytes = params_io.dumps(out_params)
    write_atomically([(params_out, params_bytes), (sym_out, sym_bytes)])
    # 5. report
    report = ConversionReport(symbol_path, params_path, sym_out, params_out, rewrite.converted,
                              rewrite.skipped, sym_size + params_size,
                              len(sym_bytes) + len(params_bytes), params_size, len(params_bytes))
    if verbose:
        print(report.format())
    return report
