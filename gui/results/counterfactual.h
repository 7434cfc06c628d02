#pragma once
// Counterfactual edits: one prompt token (or word) replaced in place. The
// dashboard's token view opens an inline editor on a prompt token
// (double-click, or "Edit token…" in its context menu); committing it yields
// a CounterfactualEdit, from which the main window builds the new job (same
// models, methods and options; the original output forced as target text so
// that p_edit(y_t) − p_orig(y_t) is defined for every output token).

#include <QObject>
#include <QString>

#include <cstdint>
#include <optional>
#include <string>

class QLineEdit;

namespace tokenlens::gui {

class ResultModel;
class TokenView;

struct CounterfactualEdit {
    std::string originalPrompt, editedPrompt;
    // Bytes [begin, end) of the original prompt were replaced by
    // `replacement`: edited = original[0, begin) + replacement + original[end, …).
    int64_t begin = 0, end = 0;
    std::string replacement;
    int64_t token = -1; // the prompt token edited (context index of the shown model)
    int model = 0;      // the model shown when editing
    std::string originalOutput; // that model's output text (forced in the new job)
    bool operator==(const CounterfactualEdit&) const = default;
};

// The edit of bytes [begin, end) of `prompt`; nullopt when the range is not
// inside the prompt or nothing changes.
std::optional<CounterfactualEdit> makeEdit(const std::string& prompt, int64_t begin, int64_t end,
                                           const std::string& replacement);

// The edit that turns `original` into `edited`: the bytes between their
// common prefix and common suffix; nullopt when they are equal.
std::optional<CounterfactualEdit> editBetween(const std::string& original, const std::string& edited);

// The inline editor over a token view.
class TokenEditor : public QObject {
    Q_OBJECT
public:
    TokenEditor(const ResultModel* model, TokenView* view);

    // Opens the editor on prompt token k (context index) with the token's
    // text (its leading space left out); false when the token covers no
    // prompt text (BOS) or k is not a prompt token.
    bool open(int64_t k);
    bool isOpen() const;
    QLineEdit* lineEdit() const { return m_edit; }
    // The bytes of the prompt the open editor replaces.
    int64_t begin() const { return m_begin; }
    int64_t end() const { return m_end; }
    // Commits the open editor's text (as Enter does) / closes it (as Esc does).
    void commit();
    void cancel();

signals:
    void edited(const tokenlens::gui::CounterfactualEdit& edit);
    void message(const QString& text);

private:
    const ResultModel* m_model;
    TokenView* m_view;
    QLineEdit* m_edit;
    int64_t m_token = -1, m_begin = 0, m_end = 0;
};

} // namespace tokenlens::gui
