// .npy I/O (to be completed).
#include "dsconv/npy.hpp"
