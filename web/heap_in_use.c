/* Bytes of the WebAssembly heap that malloc has handed out and not yet taken back: the JS API
 * exposes it (heapInUse) so that tests can check that dispose() frees everything. */
#include <malloc.h>
#include <stddef.h>

__attribute__((used, visibility("default"))) size_t bmx_web_heap_in_use(void) {
  struct mallinfo mi = mallinfo();
  return (size_t)mi.uordblks;
}
