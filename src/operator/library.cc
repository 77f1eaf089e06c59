// Library entry point for MXNet's external-operator loader (mx.library.load / MXLoadLib).
#include <iostream>

#include "mxnet/lib_api.h"

using mxnet::ext::MX_FAIL;
using mxnet::ext::MX_SUCCESS;
using mxnet::ext::MXReturnValue;

MXReturnValue initialize(int version) {
  if (version >= 10700) return MX_SUCCESS;
  std::cerr << "bmxnet: MXNet " << version << " is too old; bmxnet needs MXNet 1.7 or later"
            << std::endl;
  return MX_FAIL;
}
