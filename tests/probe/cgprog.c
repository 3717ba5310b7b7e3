/* Known call paths for the probe and call-graph tests: f is called from a() three times for
   each call from b(), ITERATIONS times over. noinline and the barriers keep a and b real frames
   (no tail calls into f). */
#include <stdio.h>
#ifndef ITERATIONS
#define ITERATIONS 1000
#endif
__attribute__((noinline)) int f(int x, const char* s) { return x + s[0]; }
__attribute__((noinline)) int a(int i) { int r = f(i, "a"); __asm__ volatile("" ::: "memory"); return r + 1; }
__attribute__((noinline)) int b(int i) { int r = f(i, "b"); __asm__ volatile("" ::: "memory"); return r + 2; }
int main(void) {
  int s = 0;
  for (int i = 0; i < ITERATIONS; ++i) {
    s += a(i);
    s += a(i);
    s += a(i);
    s += b(i);
  }
  printf("%d\n", s);
  return 0;
}
