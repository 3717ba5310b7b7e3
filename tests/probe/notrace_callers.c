/* A kernel-like call graph for finding the callers of a function the kernel will not probe:
 * iowrite16 (notrace in the kernel) is called by vp_notify, tail-called by vm_tail_notify, and
 * only reached through a pointer from main; ioread8 has no caller at all. Compiled with -c
 * -DAS_MODULE it is like a kernel module: iowrite16 lives elsewhere, so its calls are relocations. */
#include <stdint.h>

volatile uint16_t port_value;

#ifdef AS_MODULE
void iowrite16(uint16_t value, volatile uint16_t* port);
#else
__attribute__((noinline)) void iowrite16(uint16_t value, volatile uint16_t* port) { *port = value; }
__attribute__((noinline)) uint8_t ioread8(volatile uint16_t* port) { return (uint8_t)*port; }
#endif

__attribute__((noinline)) int vp_notify(int queue) {
  iowrite16((uint16_t)queue, &port_value);
  return 1;
}

/* Ends in iowrite16: compiled at -O2 as a jump, not a call. */
__attribute__((noinline)) void vm_tail_notify(int queue) { iowrite16((uint16_t)(queue + 1), &port_value); }

#ifndef AS_MODULE
void (*volatile indirect)(uint16_t, volatile uint16_t*) = iowrite16;

int main(void) {
  int n = vp_notify(0);
  vm_tail_notify(n);
  indirect(2, &port_value);
  return 0;
}
#endif
