#include "attribution/quadrature.h"

#include <cmath>

namespace tokenlens::attr {
namespace {

// Roots of the Legendre polynomial P_n by Newton's method from Chebyshev
// guesses, with weights 2 / ((1 - x²) P_n'(x)²); ascending like numpy.
Quadrature gaussLegendre(int64_t n) {
    Quadrature q;
    q.alphas.resize(static_cast<size_t>(n));
    q.weights.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        double x = std::cos(M_PI * (static_cast<double>(i) + 0.75) / (static_cast<double>(n) + 0.5));
        double dp = 0;
        for (int iter = 0; iter < 100; ++iter) {
            double p0 = 1.0, p1 = x;
            for (int64_t k = 2; k <= n; ++k) {
                const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / static_cast<double>(k);
                p0 = p1;
                p1 = p2;
            }
            const double pn = n == 1 ? x : p1;
            const double pnm1 = n == 1 ? 1.0 : p0;
            dp = static_cast<double>(n) * (x * pn - pnm1) / (x * x - 1.0);
            const double dx = pn / dp;
            x -= dx;
            if (std::abs(dx) < 1e-16) break;
        }
        // Recompute the derivative at the converged root.
        double p0 = 1.0, p1 = x;
        for (int64_t k = 2; k <= n; ++k) {
            const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / static_cast<double>(k);
            p0 = p1;
            p1 = p2;
        }
        const double pn = n == 1 ? x : p1, pnm1 = n == 1 ? 1.0 : p0;
        dp = static_cast<double>(n) * (x * pn - pnm1) / (x * x - 1.0);
        const double w = 2.0 / ((1.0 - x * x) * dp * dp);
        // cos guesses run from +1 down; store ascending.
        const auto idx = static_cast<size_t>(n - 1 - i);
        q.alphas[idx] = 0.5 * (x + 1.0);
        q.weights[idx] = 0.5 * w;
    }
    return q;
}

} // namespace

Quadrature quadrature(const std::string& method, int64_t steps) {
    if (method == "gausslegendre") return gaussLegendre(steps);
    Quadrature q;
    const double n = static_cast<double>(steps);
    for (int64_t k = 0; k < steps; ++k) {
        const double kk = static_cast<double>(k);
        double alpha = 0;
        if (method == "riemann_trapezoid") alpha = steps == 1 ? 0.0 : kk / (n - 1);
        else if (method == "riemann_left") alpha = kk / n;
        else if (method == "riemann_right") alpha = (kk + 1) / n;
        else alpha = (kk + 0.5) / n; // riemann_middle
        q.alphas.push_back(alpha);
        q.weights.push_back(1.0 / n);
    }
    if (method == "riemann_trapezoid" && steps >= 1) {
        q.weights.front() *= 0.5;
        q.weights.back() *= 0.5;
    }
    return q;
}

} // namespace tokenlens::attr
