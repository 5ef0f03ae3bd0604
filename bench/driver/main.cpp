#include <cstdio>
#include "dsconv/dsconv.hpp"
int main() { std::printf("dsconv %s\n", dsconv::version()); return 0; }
