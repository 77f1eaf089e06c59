#!/usr/bin/env python
"""The models of the browser demo (examples/web), written into one folder (make web-models):

    lenet-symbol.json, lenet.params          the converted binary LeNet: `make demo`'s
                                             (out/demo/) if there, else one trained here for a
                                             few epochs on the bundled MNIST sample (no download)
    resnet18-symbol.json, resnet18.params    bmxnet's binary_resnet18_v1, converted (ImageNet
                                             shape, random weights: there is no trained one to
                                             ship; the panel shows speed, not labels)
    resnet18_float.onnx                      gluon-cv's float resnet18_v1 (random weights) as
                                             ONNX for onnxruntime-web, weights not graph inputs
    models.json                              sizes of each model and of its float original

    python examples/web/prepare_models.py --out out/web/models
"""
import argparse
import json
import os
import shutil
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEMO_PREFIX = os.path.join(ROOT, "out", "demo", "binary_lenet")
IMAGENET_SHAPE = (1, 3, 224, 224)


def lenet(out, work, epochs):
    """The converted LeNet in `out`; returns (converted params bytes, float params bytes)."""
    from bmxnet.converter import convert

    prefix = DEMO_PREFIX
    if not os.path.exists(f"{prefix}-0000.params"):
        sys.path.insert(0, os.path.join(ROOT, "examples", "mnist"))
        import train as mnist_train
        sys.path.pop(0)
        prefix = os.path.join(work, "binary_lenet")
        print(f"no trained LeNet at {DEMO_PREFIX} (make demo): training one for {epochs} "
              f"epochs on the bundled MNIST sample")
        mnist_train.train(mnist_train.parse_args(["--epochs", str(epochs), "--train-count", "8000",
                                                  "--val-count", "1000", "--prefix", prefix]))
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    shutil.copyfile(report.symbol_out, os.path.join(out, "lenet-symbol.json"))
    shutil.copyfile(report.params_out, os.path.join(out, "lenet.params"))
    return os.path.getsize(report.params_out), os.path.getsize(f"{prefix}-0000.params")


def binary_resnet18(out, work):
    import mxnet as mx

    from bmxnet import model_zoo
    from bmxnet.converter import convert

    mx.random.seed(0)
    net = model_zoo.get_model("binary_resnet18_v1")
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(-1, 1, IMAGENET_SHAPE)
    net(x)
    net.hybridize()
    net(x)
    prefix = os.path.join(work, "binary_resnet18_v1")
    net.export(prefix)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    shutil.copyfile(report.symbol_out, os.path.join(out, "resnet18-symbol.json"))
    shutil.copyfile(report.params_out, os.path.join(out, "resnet18.params"))
    return os.path.getsize(report.params_out), os.path.getsize(f"{prefix}-0000.params")


def float_resnet18_onnx(out, work):
    """gluon-cv's resnet18_v1 exported with mx.onnx; the weights are removed from the graph
    inputs (they stay initializers) so that onnxruntime can prepack them."""
    import mxnet as mx
    import onnx
    from gluoncv.model_zoo import get_model

    net = get_model("resnet18_v1", pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros(IMAGENET_SHAPE))
    prefix = os.path.join(work, "resnet18_v1")
    net.export(prefix)
    path = os.path.join(out, "resnet18_float.onnx")
    mx.onnx.export_model(f"{prefix}-symbol.json", f"{prefix}-0000.params", [IMAGENET_SHAPE],
                         "float32", path)
    model = onnx.load(path)
    weights = {init.name for init in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return os.path.getsize(path), [i.name for i in keep]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/web/models", help="folder for the models")
    p.add_argument("--epochs", type=int, default=3,
                   help="epochs when a LeNet has to be trained here (no out/demo model)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    warnings.simplefilter("ignore", UserWarning)
    info = {}
    info["lenet"] = dict(zip(["bytes", "float_bytes"], lenet(args.out, work, args.epochs)))
    info["lenet"]["input_shape"] = [1, 1, 28, 28]
    info["resnet18"] = dict(zip(["bytes", "float_bytes"], binary_resnet18(args.out, work)))
    info["resnet18"]["input_shape"] = list(IMAGENET_SHAPE)
    onnx_bytes, onnx_inputs = float_resnet18_onnx(args.out, work)
    info["resnet18_float_onnx"] = {"bytes": onnx_bytes, "input": onnx_inputs[0]}
    shutil.rmtree(work)
    with open(os.path.join(args.out, "models.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"models for the browser demo in {args.out}: " + ", ".join(
        f"{k} {v['bytes'] / 1e6:.2f} MB" for k, v in info.items()))


if __name__ == "__main__":
    main()
