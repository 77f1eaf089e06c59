#include "conv_scheduler.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <type_traits>

#include "parallel.h"

namespace bmx {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

struct alignas(64) Cursor {
  std::atomic<int64_t> next{0};
};
static_assert(std::is_trivially_destructible<Cursor>::value, "cursors live in caller memory");

// The shared state of one run and what one worker does with it.
class Schedule {
 public:
  // Cursors per (image, range), then per image twice.
  static int64_t cursors(int64_t images, int workers) { return images * (workers + 2); }

  // `storage`: cursors(images, workers) Cursors' worth of bytes, 64-byte aligned.
  Schedule(int64_t images, int64_t tasks, int64_t jobs, int workers, ConvWork& work,
           void* storage)
      : images_(images), tasks_(tasks), jobs_(jobs), nt_(workers), work_(work) {
    Cursor* c = static_cast<Cursor*>(storage);
    for (int64_t i = 0; i < cursors(images, workers); ++i) new (c + i) Cursor();
    job_cursor_ = c;
    pack_cursor_ = c + images * workers;
    packed_ = pack_cursor_ + images;
  }

  // Worker r's whole share: every image in order.
  void run_worker(int r) {
    for (int64_t im = 0; im < images_; ++im) {
      wait_packed(r, im);
      run_own_range(r, im);
      run_others_ranges(r, im);
      while (pack_one(r, im + 1)) {
      }
    }
  }

 private:
  int64_t range_begin(int r) const { return jobs_ * r / nt_; }

  // Claims and runs one packing task of image im; false when none is left to claim.
  bool pack_one(int r, int64_t im) {
    if (im >= images_) return false;
    const int64_t task = pack_cursor_[im].next.fetch_add(1);
    if (task >= tasks_) return false;
    work_.pack(r, im, task);
    packed_[im].next.fetch_add(1, std::memory_order_release);
    return true;
  }

  // Waits for image im's input: helps packing it; while another worker finishes its last task
  // (slowed down, or sharing this CPU), packs later images instead of spinning.
  void wait_packed(int r, int64_t im) {
    while (packed_[im].next.load(std::memory_order_acquire) < tasks_) {
      if (pack_one(r, im)) continue;
      bool ahead = false;
      for (int64_t k = im + 1; k < images_ && !ahead; ++k) ahead = pack_one(r, k);
      if (!ahead) cpu_relax();
    }
  }

  // Own range first, helping with the next image's packing once half-way through.
  void run_own_range(int r, int64_t im) {
    Cursor& cursor = job_cursor_[im * nt_ + r];
    const int64_t own0 = range_begin(r), own1 = range_begin(r + 1);
    const int64_t half = own0 + (own1 - own0) / 2;
    for (int64_t j = cursor.next.fetch_add(1); own0 + j < own1; j = cursor.next.fetch_add(1)) {
      work_.compute(r, im, own0 + j, j * nt_ + r);
      if (own0 + j >= half) pack_one(r, im + 1);
    }
  }

  // Then the others' leftovers.
  void run_others_ranges(int r, int64_t im) {
    for (int d = 1; d < nt_; ++d) {
      const int o = (r + d) % nt_;
      Cursor& cursor = job_cursor_[im * nt_ + o];
      const int64_t b0 = range_begin(o), b1 = range_begin(o + 1);
      for (int64_t j = cursor.next.fetch_add(1); b0 + j < b1; j = cursor.next.fetch_add(1)) {
        work_.compute(r, im, b0 + j, -1);
      }
    }
  }

  const int64_t images_, tasks_, jobs_;
  const int nt_;
  ConvWork& work_;
  Cursor* job_cursor_;   // per (image, range): jobs claimed
  Cursor* pack_cursor_;  // per image: tasks claimed
  Cursor* packed_;       // per image: tasks finished
};

}  // namespace

int conv_workers(int64_t jobs, int threads) {
  return static_cast<int>(std::min<int64_t>(std::max(1, threads), std::max<int64_t>(1, jobs)));
}

size_t conv_schedule_bytes(int64_t images, int64_t jobs, int threads) {
  return sizeof(Cursor) * Schedule::cursors(images, conv_workers(jobs, threads));
}

void run_conv_schedule(int64_t images, int64_t tasks, int64_t jobs, int threads, ConvWork& work,
                       void* scratch) {
  const int nt = conv_workers(jobs, threads);
  Schedule schedule(images, tasks, jobs, nt, work, scratch);
  // One task per worker; more than one per thread when the runtime gives fewer threads.
  parallel_for(nt, nt, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) schedule.run_worker(static_cast<int>(r));
  });
}

}  // namespace bmx
