#include "analysis/lasso.h"

#include <algorithm>
#include <cmath>

namespace tokenlens::analysis {

namespace {

double softThreshold(double z, double lambda) {
    if (z > lambda) return z - lambda;
    if (z < -lambda) return z + lambda;
    return 0.0;
}

} // namespace

double lassoLambdaMax(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    const auto m = static_cast<double>(X.rows());
    if (X.rows() == 0 || X.cols() == 0) return 0.0;
    const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
    const Eigen::VectorXd yc = y.array() - y.mean();
    return (Xc.transpose() * yc).cwiseAbs().maxCoeff() / m;
}

LassoFit fitLasso(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, double lambda, int maxSweeps,
                  double tolerance) {
    const Eigen::Index m = X.rows(), k = X.cols();
    LassoFit fit;
    fit.weights = Eigen::VectorXd::Zero(k);
    if (m == 0) return fit;
    const double md = static_cast<double>(m);
    const Eigen::RowVectorXd means = X.colwise().mean();
    const Eigen::MatrixXd Xc = X.rowwise() - means;
    const double yMean = y.mean();
    Eigen::VectorXd residual = y.array() - yMean; // y − ȳ − Xc w, with w = 0
    const Eigen::VectorXd norms = Xc.colwise().squaredNorm().transpose() / md;
    for (fit.iterations = 0; fit.iterations < maxSweeps;) {
        ++fit.iterations;
        double moved = 0;
        for (Eigen::Index c = 0; c < k; ++c) {
            if (norms[c] <= 0) continue; // a constant column carries no information
            const double old = fit.weights[c];
            const double z = Xc.col(c).dot(residual) / md + norms[c] * old;
            const double w = softThreshold(z, lambda) / norms[c];
            if (w != old) {
                residual -= (w - old) * Xc.col(c);
                fit.weights[c] = w;
                moved = std::max(moved, std::abs(w - old));
            }
        }
        if (moved <= tolerance * (1.0 + fit.weights.cwiseAbs().maxCoeff())) {
            fit.converged = true;
            break;
        }
    }
    fit.intercept = yMean - means.dot(fit.weights);
    return fit;
}

} // namespace tokenlens::analysis
