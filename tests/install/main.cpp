// The installed C++ headers are self-contained (config.h installed beside them) and the C++ API and
// .npy I/O link: the worked example's conv2d through a parsed descriptor, written and read back.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"
#include "dsconv/npy.hpp"

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "consumer_y.npy";
  dsconv::Result<dsconv::Problem> p = dsconv::Problem::parse("conv2d_n1h4w4c2_k3x3_o2_s1x1_d1x1_pvalid_nhwc_tf_f32");
  if (!p) return std::fprintf(stderr, "%s\n", p.status().to_string().c_str()), 1;
  dsconv::Result<dsconv::Plan> plan = dsconv::Plan::create(*p, "cpu-ref");
  if (!plan) return std::fprintf(stderr, "%s\n", plan.status().to_string().c_str()), 1;

  std::vector<float> x(32), w(36), y(8, NAN);
  for (int i = 0; i < 16; ++i) {
    x[static_cast<size_t>(i * 2)] = static_cast<float>(i % 4 + 1);
    x[static_cast<size_t>(i * 2 + 1)] = 1.0f;
  }
  for (int t = 0; t < 9; ++t) {
    w[static_cast<size_t>(t * 4 + 0)] = 0;
    w[static_cast<size_t>(t * 4 + 1)] = 2;
    w[static_cast<size_t>(t * 4 + 2)] = 1;
    w[static_cast<size_t>(t * 4 + 3)] = 3;
  }
  dsconv::Tensors t;
  t.input = x.data();
  t.filter = w.data();
  t.output = y.data();
  if (dsconv::Status s = plan->run(t, nullptr, 0); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  if (dsconv::Status s = dsconv::npy::save_f32(out, p->output_shape(), y.data()); !s)
    return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  dsconv::Result<dsconv::npy::Array> back = dsconv::npy::load(out);
  if (!back) return std::fprintf(stderr, "%s\n", back.status().to_string().c_str()), 1;
  const std::vector<float> expected = {9, 63, 9, 81, 9, 63, 9, 81};
  if (back->values != expected || dsconv::npy::shape_string(back->shape) != "[1, 2, 2, 2]") {
    std::fprintf(stderr, "conv2d through the C++ API and .npy gave the wrong result\n");
    return 1;
  }
  std::printf("C++ API %s: %s via %s/%s: ok\n", dsconv::version(), p->descriptor().c_str(), plan->backend().c_str(),
              plan->implementation().c_str());
  return 0;
}
