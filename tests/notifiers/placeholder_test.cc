#include <gtest/gtest.h>
// Placeholder; replaced by the first real test of this part.
TEST(Placeholder, Builds) { SUCCEED(); }
