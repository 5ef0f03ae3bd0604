// C API glue (to be completed).
#include "dsconv/dsconv.h"
