// Heap set-up for a short-lived process that builds a large tree of small objects.
#pragma once

namespace berth::util {

// Makes the malloc heap grow in large steps backed by transparent huge pages, so that loading
// a big project touches a few 2 MiB pages instead of faulting in a thousand 4 KiB ones (on
// these VMs a minor fault costs ~10 µs: a 100-service `config` spent a third of its time in
// the kernel). Costs nothing until memory is used; a no-op where THP is unavailable.
// Call once, early in main, before the first large allocation.
void prepare_heap_for_burst();

}  // namespace berth::util
