#include <gtest/gtest.h>
#include "dsconv/dsconv.hpp"
TEST(Smoke, Version) { EXPECT_STREQ(dsconv::version(), "0.1.0"); }
