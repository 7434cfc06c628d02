#include "viewmodel/palette.h"

#include "attribution/method.h"

#include <algorithm>
#include <cmath>

namespace tokenlens::gui {

namespace {

struct MethodStyle {
    const char* id;
    const char* label;
    QRgb colour;
};

// One fixed colour per method id (the registry decides the order and the
// number keys); the first five are the original palette, the others come
// from the same colour-blind-safe sets (Okabe–Ito, IBM, Tol).
constexpr MethodStyle kStyles[] = {
    {"attention", "Attention", 0x648FFF},             // IBM blue
    {"saliency", "Saliency", 0xFE6100},               // IBM orange
    {"input_x_gradient", "Input × gradient", 0xFFB000}, // IBM gold
    {"occlusion", "Occlusion", 0x009E73},             // Okabe–Ito bluish green
    {"integrated_gradients", "Integrated gradients", 0xDC267F}, // IBM magenta
    {"attention_rollout", "Attention rollout", 0x785EF0}, // IBM purple
    {"alti", "ALTI", 0x56B4E9},                       // Okabe–Ito sky blue
    {"value_zeroing", "Value zeroing", 0xD55E00},     // Okabe–Ito vermillion
    {"deeplift", "DeepLIFT", 0x999933},               // Tol olive
    {"gradient_shap", "Gradient SHAP", 0xCC79A7},     // Okabe–Ito reddish purple
    {"lime", "LIME", 0xF0E442},                       // Okabe–Ito yellow
    {"kernel_shap", "Kernel SHAP", 0x0072B2},         // Okabe–Ito blue
    {"shapley_sampling", "Shapley sampling", 0x882255}, // Tol wine
    {"attnlrp", "AttnLRP", 0x44AA99},                 // Tol teal
    {"cp_lrp", "CP-LRP", 0x332288},                   // Tol indigo
    {"context_cite", "ContextCite", 0xDDCC77},        // Tol sand
};

double channelToLinear(double c) {
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

} // namespace

QColor methodColour(const std::string& methodId) {
    for (const auto& s : kStyles) {
        if (methodId == s.id) return QColor::fromRgb(s.colour);
    }
    return QColor(0x80, 0x80, 0x80);
}

QString methodLabel(const std::string& methodId) {
    for (const auto& s : kStyles) {
        if (methodId == s.id) return QString::fromUtf8(s.label);
    }
    return QString::fromStdString(methodId);
}

QString methodDescription(const std::string& methodId) {
    if (const auto* m = findMethod(methodId)) return QString::fromStdString(m->description());
    return QStringLiteral("A method this version of TokenLens does not know.");
}

int methodOrder(const std::string& methodId) {
    const auto& all = allMethods();
    for (size_t i = 0; i < all.size(); ++i) {
        if (all[i]->id() == methodId) return static_cast<int>(i);
    }
    return -1;
}

QColor blendIntensities(std::span<const double> intensities, std::span<const QColor> colours) {
    double sum = 0, r = 0, g = 0, b = 0;
    int count = 0;
    const size_t m = std::min(intensities.size(), colours.size());
    for (size_t k = 0; k < m; ++k) {
        const double v = intensities[k];
        if (!std::isfinite(v)) continue;
        const double w = std::clamp(v, 0.0, 1.0);
        ++count;
        sum += w;
        r += w * colours[k].redF();
        g += w * colours[k].greenF();
        b += w * colours[k].blueF();
    }
    if (count == 0 || sum <= 0) return QColor(0, 0, 0, 0);
    QColor out;
    out.setRgbF(static_cast<float>(r / sum), static_cast<float>(g / sum), static_cast<float>(b / sum),
                static_cast<float>(sum / count * kMaxFillAlpha));
    return out;
}

QColor composite(const QColor& fill, const QColor& background) {
    const double a = fill.alphaF();
    QColor out;
    out.setRgbF(static_cast<float>(fill.redF() * a + background.redF() * (1 - a)),
                static_cast<float>(fill.greenF() * a + background.greenF() * (1 - a)),
                static_cast<float>(fill.blueF() * a + background.blueF() * (1 - a)));
    return out;
}

double luminance(const QColor& c) {
    return 0.2126 * channelToLinear(c.red()) + 0.7152 * channelToLinear(c.green()) +
           0.0722 * channelToLinear(c.blue());
}

double contrastRatio(const QColor& a, const QColor& b) {
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

QColor readableTextOn(const QColor& background) {
    const QColor black(0x10, 0x10, 0x10), white(0xF4, 0xF4, 0xF4);
    return contrastRatio(black, background) >= contrastRatio(white, background) ? black : white;
}

} // namespace tokenlens::gui
