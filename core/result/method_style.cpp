#include "result/method_style.h"

namespace tokenlens {

namespace {

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

} // namespace

std::span<const MethodStyle> methodStyles() { return kStyles; }

const MethodStyle* findMethodStyle(const std::string& id) {
    for (const auto& s : kStyles) {
        if (id == s.id) return &s;
    }
    return nullptr;
}

} // namespace tokenlens
