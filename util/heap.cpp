#include "util/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace berth::util {
namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
// Address space only: pages cost nothing until touched. 100 services use about 6 MiB.
constexpr std::size_t kReserve = std::size_t{16} << 20;

}  // namespace

void prepare_heap_for_burst() {
  // Keep large blocks on the heap too (each mmap'd block faults in page by page) and never
  // hand memory back during a run: the process is short-lived.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 2 << 20);
  // One arena for every thread: up's tasks mostly wait on processes and files, and each
  // extra arena costs ~240 KiB of touched memory (0.8 MiB of peak RSS on 20 services).
  mallopt(M_ARENA_MAX, 1);

  // Grow the heap by kReserve in one step (a block larger than what is left on top makes
  // malloc extend the break), free it back into the top chunk, and ask for huge pages on the
  // aligned part. The unaligned head stays on small pages; aligning the break first measured
  // slower here (each huge-page fault zeroes 2 MiB, so sparsely used ones do not pay).
  auto before = reinterpret_cast<std::uintptr_t>(sbrk(0));
  void* block = std::malloc(kReserve);
  if (block == nullptr) return;
  std::free(block);
  auto after = reinterpret_cast<std::uintptr_t>(sbrk(0));

  auto begin = (before + kHugePage - 1) & ~(kHugePage - 1);
  auto end = after & ~(kHugePage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace berth::util
