/*
 * bmx_predict.h: the C API of libbmx_runtime, bmxnet's runtime without MXNet.
 *
 * It mirrors MXNet's c_predict_api.h function for function, with the prefix BMX instead of MX:
 * same arguments, same meaning. A program written for MXPred* works after renaming the calls
 * (and its types: PredictorHandle -> BMXPredictorHandle, mx_uint -> uint32_t).
 *
 * It loads the two files that model-converter writes (-symbol.json and MXNet's binary .params
 * format), plans the graph once at creation (shapes inferred, weights repacked, one memory arena
 * reused across layers) and runs it on the CPU. dev_type must be 1 (CPU).
 *
 * Memory: a model is planned first and its memory allocated only once the plan is accepted;
 * a plan over the memory limit (BMXSetMemoryLimit) is refused without allocating it.
 *
 * Every function returns 0 on success and -1 on failure; on failure BMXGetLastError() returns one
 * sentence saying what is wrong. No function aborts, throws across this boundary or prints.
 *
 * Threads: the OMP_NUM_THREADS environment variable as MXNet reads it (unset: all hardware
 * threads), or BMXPredSetNumThreads per predictor; either is clamped to the thread limit, the
 * larger of 64 and the machine's hardware thread count.
 *
 * A handle must not be used by two threads at once: give each thread its own predictor, made
 * cheaply with BMXPredClone. A call on a handle that another thread is using meanwhile fails
 * (returns -1; BMXGetLastError() says "this predictor is in use by another thread; use one
 * predictor (BMXPredClone) per thread.") rather than crashing. Separate predictors, clones
 * included, may run on separate threads at the same time.
 *
 * What a predictor owns: its plan, activations, inputs and outputs; its settings (the binary
 * kernels' instruction set, the float layers' backend, its thread count: BMXPredCreateEx, with
 * the environment as the default); and its threads, a pool made for its thread count the first
 * time it runs in parallel (BMXPredCreate* prepares it) and joined by BMXPredFree. A forward
 * runs only on the calling thread and its predictor's own pool, so predictors on different
 * threads never wait on one another's threads. While the process's pools together hold more
 * threads than the machine has, idle pool threads sleep in the kernel rather than spin.
 * Clones share the source's read-only weights and settings, but not its pool.
 *
 * Environment (the defaults of every predictor; read once, at the first creation):
 * OMP_NUM_THREADS; BMXNET_KERNEL_ISA (ref | portable | avx2 | avx512 | neon | wasm_simd128,
 * unknown or unavailable: the best here, said in the plan's "isa_note"); BMXNET_FLOAT_BACKEND
 * (auto | xnnpack | portable | reference). The older names BMX_KERNEL_ISA and BMX_FLOAT_BACKEND
 * are still read when the new ones are unset; they are deprecated.
 */
#ifndef BMX_PREDICT_H_
#define BMX_PREDICT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define BMX_DLL __declspec(dllexport)
#else
#define BMX_DLL __attribute__((visibility("default")))
#endif

/* Handle to a predictor. */
typedef void* BMXPredictorHandle;

/* The last error of the calling thread (an empty string if none); valid until the next call. */
BMX_DLL const char* BMXGetLastError(void);

/*
 * Creates a predictor from a symbol JSON string and the bytes of a .params file.
 * dev_type: 1 (CPU); anything else is an error. dev_id: 0.
 * num_input_nodes: 1 for a feed-forward net; input_keys: {"data"}.
 * input_shape_indptr: num_input_nodes + 1 offsets into input_shape_data, e.g. {0, 4}.
 * input_shape_data: the input shapes, NCHW, e.g. {1, 3, 224, 224}.
 */
BMX_DLL int BMXPredCreate(const char* symbol_json_str, const void* param_bytes, int param_size,
                          int dev_type, int dev_id, uint32_t num_input_nodes,
                          const char** input_keys, const uint32_t* input_shape_indptr,
                          const uint32_t* input_shape_data, BMXPredictorHandle* out);

/* As BMXPredCreate, with the outputs named by output_keys (node names, with or without the
 * "_output" suffix) instead of the graph's heads. */
BMX_DLL int BMXPredCreatePartialOut(const char* symbol_json_str, const void* param_bytes,
                                    int param_size, int dev_type, int dev_id,
                                    uint32_t num_input_nodes, const char** input_keys,
                                    const uint32_t* input_shape_indptr,
                                    const uint32_t* input_shape_data, uint32_t num_output_nodes,
                                    const char** output_keys, BMXPredictorHandle* out);

/*
 * As BMXPredCreatePartialOut (num_output_nodes 0: the graph's heads), with this predictor's
 * own settings in `options` (null or "": the environment's): "key=value" pairs separated by ';'
 * or ',', for example "isa=portable;float_backend=xnnpack;threads=2".
 *   isa            ref | portable | avx2 | avx512 | neon | wasm_simd128 | best: the binary
 *                  kernels' instruction set; one this CPU or build lacks is an error.
 *   float_backend  auto (XNNPACK where it is the faster, else portable) | xnnpack (every float
 *                  layer XNNPACK computes as MXNet does) | portable | reference: the float
 *                  layers' library; xnnpack in a build or on a CPU without it is an error.
 *   threads        n >= 1, as BMXPredSetNumThreads.
 * An unknown key or value fails with a sentence naming it. Its clones keep these settings.
 */
BMX_DLL int BMXPredCreateEx(const char* symbol_json_str, const void* param_bytes,
                            int param_size, int dev_type, int dev_id, uint32_t num_input_nodes,
                            const char** input_keys, const uint32_t* input_shape_indptr,
                            const uint32_t* input_shape_data, uint32_t num_output_nodes,
                            const char** output_keys, const char* options,
                            BMXPredictorHandle* out);

/* Shape of output `index`: *shape_data points to *shape_ndim dimensions, valid until the
 * predictor is freed. */
BMX_DLL int BMXPredGetOutputShape(BMXPredictorHandle handle, uint32_t index,
                                  uint32_t** shape_data, uint32_t* shape_ndim);

/* Copies `size` floats (NCHW, exactly the input's element count) into input `key`. Every
 * input must be set (once; it keeps its value across forwards) before the first
 * BMXPredForward. */
BMX_DLL int BMXPredSetInput(BMXPredictorHandle handle, const char* key, const float* data,
                            uint32_t size);

/* Runs the graph on the inputs set so far; fails while an input has never been set. */
BMX_DLL int BMXPredForward(BMXPredictorHandle handle);

/* Copies output `index` (exactly `size` floats, NCHW as MXNet lays it out) of the last
 * BMXPredForward into data; fails before the first BMXPredForward. */
BMX_DLL int BMXPredGetOutput(BMXPredictorHandle handle, uint32_t index, float* data,
                             uint32_t size);

/* Frees a predictor (a null handle is fine). Its clones stay valid. */
BMX_DLL int BMXPredFree(BMXPredictorHandle handle);

/* bmxnet's own additions. */

/* Threads this predictor's kernels use, overriding OMP_NUM_THREADS. n < 1 is an error; n above
 * the thread limit (the larger of 64 and the hardware thread count) is clamped to it. Its pool
 * is made again for the new count (its old threads are joined). */
BMX_DLL int BMXPredSetNumThreads(BMXPredictorHandle handle, int n);

/*
 * A new predictor of the same model, inputs, outputs and settings (thread count included), with
 * a thread pool of its own, for another thread
 * (free it with BMXPredFree; it outlives src). It shares src's read-only weights (the binary
 * layers' packed weights, scales and biases, batch norm's) and has its own activations, inputs
 * and outputs; it plans its own float layers (the float library's operators are set up for one
 * predictor's buffers, their weights packed again) from a copy of the model that src keeps.
 * Cloning is a call on src: not while another thread uses src.
 */
BMX_DLL int BMXPredClone(BMXPredictorHandle src, BMXPredictorHandle* out);

/* A description of the plan as a JSON string, valid until the predictor is freed:
 * {"nodes": [{"name", "op", "kernel", "output_shape", "macs"}...], "arena_bytes": N,
 *  "weight_bytes": N, "isa": "avx512"|"avx2"|"portable"|"neon"|...,
 *  "float_backend": "xnnpack"|"portable"|"reference"}: this predictor's settings as they run
 *  (a "kernel" of "float-xnnpack" or "float-portable" says which library each float layer
 *  got), plus "isa_note": a sentence when BMXNET_KERNEL_ISA names a path that is unknown or
 *  unavailable here (the best one is used then; the runtime never prints, so this is where
 *  that shows). */
BMX_DLL int BMXPredGetPlan(BMXPredictorHandle handle, const char** json);

/* One step of a profiled forward (BMXPredForwardProfiled): a node of the plan, in run order. */
typedef struct {
  const char* node;               /* the graph node's name */
  const char* op;                 /* its op, e.g. "bmx_binary_conv2d", "Convolution" */
  const char* kernel;             /* what computes it: "binary-avx2" (the binary kernels'
                                     instruction set), "float-xnnpack" or "float-portable" (the
                                     float library), "portable", or "none"/"fused" (no work: an
                                     alias of its input, a relu its producer applies) */
  const char* kind;               /* "binary" (a binary kernel), "float" (a float layer: it
                                     multiplies) or "data" (data movement: copies, reshapes,
                                     element-wise ops, signs, without multiply-accumulates) */
  const uint32_t* output_shape;   /* its first output's shape, NCHW */
  uint32_t output_ndim;
  int64_t binary_macs;            /* multiply-accumulates per forward of a binary kernel (each
                                     one bit: an XNOR and a popcount), else 0 */
  int64_t float_macs;             /* float multiply-accumulates per forward, else 0 */
  double start_seconds;           /* when it started, from the first step's start */
  double seconds;                 /* its wall time */
} BMXStepProfile;

/*
 * As BMXPredForward, timing every step: *steps points to *num_steps rows, in run order, valid
 * until the next BMXPredForwardProfiled on this handle or BMXPredFree (the strings and shapes
 * until BMXPredFree). *forward_seconds (may be null) is the forward's wall time, steps and the
 * gaps between them. BMXPredForward times nothing, so unprofiled forwards cost no clock reads.
 */
BMX_DLL int BMXPredForwardProfiled(BMXPredictorHandle handle, const BMXStepProfile** steps,
                                   uint32_t* num_steps, double* forward_seconds);

/*
 * The memory limit of the predictors created (or cloned) from now on, process-wide: the most
 * bytes one predictor's plan may take beside its weights (the activation arena and the float
 * layers' buffers, as "arena_bytes" and the buffers in BMXPredGetPlan). A plan over it is
 * refused at creation, before that memory is allocated, with a sentence naming both figures.
 * bytes 0: back to the BMXNET_MEMORY_LIMIT environment variable (a byte count, or with a K, M or
 * G suffix), else the default: 4 GiB, 1 GiB in WebAssembly.
 */
BMX_DLL int BMXSetMemoryLimit(uint64_t bytes);

/*
 * Input files: one file -> a model's input tensor, by the rules that bmx_run and
 * `bmxnet predict` share (src/runtime/input_file.h has them in full):
 *   - an image (PGM/PPM read here; PNG, JPEG, ... decoded by the caller to 8-bit pixels and
 *     given to BMXInputFromPixels): pixels scaled to [0, 1], alpha dropped, converted to the
 *     model's channels (gray -> RGB by copying, RGB -> gray by BT.601 luma), resized bilinearly
 *     to the model's H x W, then (x - mean) / std per channel; shape (1, C, H, W). The model's
 *     input must be (N, 1 or 3, H, W).
 *   - a .npy array (any real dtype; values as they are): one sample of the model's sample shape
 *     (its input shape without the batch axis), leading axes of size 1 optional, or a batch of
 *     them (n, ...).
 *   - anything else: raw little-endian float32 values, as many whole samples as they make.
 * model_shape: the model's input shape, batch first (its batch size is free), from the caller
 * or BMXSymbolInputShape; model_ndim 0 when not known: an image keeps its size and channels,
 * an array its shape (a 3-d one given a batch axis), and raw values are refused.
 * mean / std: num_mean / num_std values (0: none, 1: every channel, or one per channel), for
 * images only. name: the file, as the error messages name it. What does not fit fails with one
 * sentence naming the file, what it holds and the shape the model takes.
 * The tensor lives in the handle: read it with BMXInputGetShape / BMXInputGetData (valid until
 * BMXInputFree), pass it to BMXPredCreate and BMXPredSetInput.
 */
typedef void* BMXInputHandle;

/* The input shape recorded in a symbol JSON (the "data" variable's bmx_input_shape attribute,
 * written by bmxnet.export and kept by model-converter): up to `capacity` dimensions into
 * shape_data, their count into *shape_ndim; *shape_ndim = 0 when the symbol records none. */
BMX_DLL int BMXSymbolInputShape(const char* symbol_json_str, uint32_t* shape_data,
                                uint32_t capacity, uint32_t* shape_ndim);

/* The format of an input file from its first bytes: *format is "npy", "pgm", "ppm", "png",
 * "jpeg", "gif", "bmp", "webp", "tiff" or "raw" (static storage); *needs_decoding is 1 for the
 * compressed images, which the caller decodes to pixels for BMXInputFromPixels. */
BMX_DLL int BMXInputFormat(const void* bytes, uint64_t size, const char** format,
                           int* needs_decoding);

/* The model's input tensor from the whole bytes of a .npy, PGM/PPM or raw float32 file. */
BMX_DLL int BMXInputFromFile(const char* name, const void* bytes, uint64_t size,
                             const uint32_t* model_shape, uint32_t model_ndim,
                             const float* mean, uint32_t num_mean, const float* std,
                             uint32_t num_std, BMXInputHandle* out);

/* The model's input tensor from a decoded image: height x width x channels 8-bit values,
 * interleaved (channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGB + alpha). */
BMX_DLL int BMXInputFromPixels(const char* name, const uint8_t* pixels, uint32_t height,
                               uint32_t width, uint32_t channels, const uint32_t* model_shape,
                               uint32_t model_ndim, const float* mean, uint32_t num_mean,
                               const float* std, uint32_t num_std, BMXInputHandle* out);

/* The tensor's shape (batch first) and its float32 values (*size of them, C order); both
 * valid until BMXInputFree. */
BMX_DLL int BMXInputGetShape(BMXInputHandle handle, const uint32_t** shape_data,
                             uint32_t* shape_ndim);
BMX_DLL int BMXInputGetData(BMXInputHandle handle, const float** data, uint32_t* size);

/* Frees an input tensor (a null handle is fine). */
BMX_DLL int BMXInputFree(BMXInputHandle handle);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* BMX_PREDICT_H_ */
