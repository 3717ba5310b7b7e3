/* The probe tests' argument reader: f(int x) is called with 100, 101, 102, 103 and 104, in that
   order. At -O0 x reaches its stack slot only in f's prologue, so a probe that reads x must be
   placed after it. */
#include <stdio.h>
volatile int sink;
__attribute__((noinline)) void f(int x) {
  sink += x;
}
int main(void) {
  for (int i = 100; i < 105; ++i) f(i);
  printf("%d\n", sink);
  return 0;
}
