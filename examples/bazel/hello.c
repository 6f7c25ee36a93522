/* The application of the example: linked statically, so it needs nothing from the layer to run. */
#include <stdio.h>

int main(void) {
  puts("hello from scratch");
  return 0;
}
