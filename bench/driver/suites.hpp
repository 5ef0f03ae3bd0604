// Built-in benchmark suites: the depthwise, dilated and separable layers of real networks, at their
// real shapes (224x224 classification inputs, 513x513 DeepLab inputs at output stride 16 and 8).
// `dsconv bench --list` prints them; `--suite NAME --dump` prints their problems as descriptors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dsconv/dsconv.hpp"

namespace dsconv::driver {

struct SuiteLayer {
  std::string name;  // where the layer sits in its network, e.g. "b3_0_dw3x3_s2"
  ProblemDesc desc;  // batch 1, NHWC, TF filters, f32: the overrides below change these
};

struct Suite {
  std::string name;         // "mobilenet_v2"
  std::string description;  // one line for --list
  std::vector<SuiteLayer> layers;
};

// Every built-in suite, in --list order.
const std::vector<Suite>& builtin_suites();
// nullptr when no suite has that name (exact match).
const Suite* find_suite(std::string_view name);
// "mobilenet_v2, efficientnet_b0, ..." for error messages.
std::string suite_names();

struct SuiteProblem {
  std::string suite;  // empty for a problem given on the command line
  std::string layer;
  Problem problem;
};

// Changes the command line makes to every layer (e.g. the batch size); returns an error message,
// empty on success.
using LayerAdjust = std::function<std::string(ProblemDesc*)>;

// The suite's problems, each layer adjusted first (when `adjust` is set). A layer the adjustment
// makes invalid is an error naming the suite, the layer and the field.
Result<std::vector<SuiteProblem>> suite_problems(const Suite& suite, const LayerAdjust& adjust = nullptr);

// The problems of every named suite in order ("all": every built-in suite but "quick"), each layer
// adjusted; an unknown name is an error listing the suites.
Result<std::vector<SuiteProblem>> suites_problems(const std::vector<std::string>& names, const LayerAdjust& adjust);

// The adjustment of the flags that apply to every layer alike (batch, dtype, layouts, bias, residual,
// activation), from a ProblemDesc that `apply_flags` filled as the command line says.
LayerAdjust every_layer_adjust(std::function<std::string(ProblemDesc*)> apply_flags);

// The JSON list printed by --dump --format json: one object per problem with the descriptor and
// every resolved field (padding amounts, output size, flops, min_bytes), so that a peer written in
// another language needs no descriptor parser.
std::string dump_json(const std::vector<SuiteProblem>& problems);

}  // namespace dsconv::driver
