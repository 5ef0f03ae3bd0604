// An implementation that runs nothing, for tests of dispatch over fake backends: a name, and optionally
// why its output could differ between runs with the same inputs (PlanOptions::deterministic passes over
// it).
#pragma once

#include <string>
#include <utility>

#include "dsconv/dsconv.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv::testing {

class FakeImpl final : public detail::Impl {
 public:
  explicit FakeImpl(std::string name, std::string nondeterminism = "")
      : name_(std::move(name)), nondeterminism_(std::move(nondeterminism)) {}
  const std::string& name() const override { return name_; }
  std::string nondeterminism() const override { return nondeterminism_; }
  Status run(const TensorArgs&, void*, size_t, void*) const override { return Status::ok(); }

 private:
  std::string name_, nondeterminism_;
};

}  // namespace dsconv::testing
