#pragma once
// Integration nodes and weights on [0, 1] exactly as Captum builds them.

#include <cstdint>
#include <string>
#include <vector>

namespace tokenlens::attr {

struct Quadrature {
    std::vector<double> alphas;
    std::vector<double> weights;
};

// gausslegendre: Legendre–Gauss nodes x_k, weights w_k on [-1, 1] mapped to
// α = (x + 1) / 2 and w / 2. riemann_trapezoid: α = linspace(0, 1, steps),
// weights 1/steps with both end weights halved (Captum's definition; they
// sum to (steps - 1) / steps). Also riemann_left/right/middle.
Quadrature quadrature(const std::string& method, int64_t steps);

} // namespace tokenlens::attr
