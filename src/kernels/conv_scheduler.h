// Work scheduler of the fast convolution: one fork-join per call that packs every image's
// input and computes every image's jobs, with packing overlapped with computing.
//
// Every image's jobs are split into one contiguous range per worker, so a worker keeps the
// same weight panels in its cache from image to image; a worker that finishes its range steals
// from the others' (through the same atomic cursors, so no job runs twice). The next image is
// packed by whichever worker is past half of its own range (its input has been prefetched by
// then, see ConvWork::compute), so packing overlaps computing; a worker only waits (spinning:
// packing tasks are short) when an image's packing is claimed but not finished and no later
// image is left to pack. No barrier between images.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bmx {

// What the scheduler runs. Calls with different `worker`s run concurrently; a worker's calls
// run one at a time, so `worker` (0 .. workers - 1) indexes per-worker scratch.
class ConvWork {
 public:
  virtual ~ConvWork() = default;
  // Packs task `task` of image `im`.
  virtual void pack(int worker, int64_t im, int64_t task) = 0;
  // Computes job `job` of image `im`. `slot` >= 0 numbers the jobs of the first half of every
  // worker's own range, interleaving the workers (the j-th job of range r is slot
  // j * workers + r), so slots below about jobs / 2 run before image im + 1 is packed: the job
  // of slot k prefetches its share k of image im + 1's input. -1: a job run elsewhere, which
  // prefetches nothing.
  virtual void compute(int worker, int64_t im, int64_t job, int64_t slot) = 0;
};

// Workers used for `jobs` jobs per image on up to `threads` threads.
int conv_workers(int64_t jobs, int threads);

// Bytes of scratch that run_conv_schedule needs for these arguments.
size_t conv_schedule_bytes(int64_t images, int64_t jobs, int threads);

// Runs pack(im, 0 .. tasks - 1) and then compute(im, 0 .. jobs - 1) for every image
// im < images, each exactly once, on conv_workers(jobs, threads) workers; an image's jobs
// start only after all its packing tasks have finished. `scratch`: conv_schedule_bytes(images,
// jobs, threads) bytes, 64-byte aligned, for its counters (so that it allocates nothing).
void run_conv_schedule(int64_t images, int64_t tasks, int64_t jobs, int threads, ConvWork& work,
                       void* scratch);

}  // namespace bmx
