#pragma once
// The LASSO (an L1-penalised least-squares fit) by cyclic coordinate
// descent: the surrogate of context_cite (docs/methods.md). Eigen only.

#include <Eigen/Dense>

namespace tokenlens::analysis {

struct LassoFit {
    Eigen::VectorXd weights; // one per column of X
    double intercept = 0;
    int iterations = 0;      // full sweeps over the coordinates
    bool converged = false;
};

// Minimises (1/2m)·‖y − b − X w‖² + λ‖w‖₁ over w and the unpenalised
// intercept b (X is m × k). The columns are centred (b absorbs the means)
// and each coordinate step is the soft-thresholded least-squares update
// w_c = S(x_cᵀ r_c / m, λ) / (x_cᵀ x_c / m) on the partial residual r_c;
// a constant column gets weight 0. Stops when no weight moved by more than
// `tolerance` · (1 + max |w|) in a sweep, or after maxSweeps.
LassoFit fitLasso(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, double lambda, int maxSweeps = 10000,
                  double tolerance = 1e-10);

// The smallest λ at which every weight is 0: max_c |x_cᵀ (y − ȳ)| / m on the
// centred columns.
double lassoLambdaMax(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);

} // namespace tokenlens::analysis
