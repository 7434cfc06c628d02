#include "results/counterfactual.h"

#include "analysis/alignment.h"
#include "results/token_view.h"
#include "viewmodel/result_model.h"

#include <QEvent>
#include <QKeyEvent>
#include <QLineEdit>

namespace tokenlens::gui {

std::optional<CounterfactualEdit> makeEdit(const std::string& prompt, int64_t begin, int64_t end,
                                           const std::string& replacement) {
    const auto size = static_cast<int64_t>(prompt.size());
    if (begin < 0 || end < begin || end > size) return std::nullopt;
    const auto b = static_cast<size_t>(begin), e = static_cast<size_t>(end);
    if (prompt.compare(b, e - b, replacement) == 0) return std::nullopt;
    CounterfactualEdit edit;
    edit.originalPrompt = prompt;
    edit.begin = begin;
    edit.end = end;
    edit.replacement = replacement;
    edit.editedPrompt = prompt.substr(0, b) + replacement + prompt.substr(e);
    return edit;
}

std::optional<CounterfactualEdit> editBetween(const std::string& original, const std::string& edited) {
    if (original == edited) return std::nullopt;
    size_t prefix = 0;
    while (prefix < original.size() && prefix < edited.size() && original[prefix] == edited[prefix]) ++prefix;
    size_t suffix = 0;
    while (suffix < original.size() - prefix && suffix < edited.size() - prefix &&
           original[original.size() - 1 - suffix] == edited[edited.size() - 1 - suffix])
        ++suffix;
    return makeEdit(original, static_cast<int64_t>(prefix), static_cast<int64_t>(original.size() - suffix),
                    edited.substr(prefix, edited.size() - prefix - suffix));
}

namespace {
// Esc closes the editor (the line edit itself ignores it).
class EscFilter : public QObject {
public:
    EscFilter(TokenEditor* editor) : QObject(editor), m_editor(editor) {}
    bool eventFilter(QObject*, QEvent* e) override {
        if (e->type() == QEvent::KeyPress && static_cast<QKeyEvent*>(e)->key() == Qt::Key_Escape) {
            m_editor->cancel();
            return true;
        }
        if (e->type() == QEvent::ShortcutOverride && static_cast<QKeyEvent*>(e)->key() == Qt::Key_Escape) {
            e->accept(); // not the window's Esc shortcut
            return true;
        }
        return false;
    }
    TokenEditor* m_editor;
};
} // namespace

TokenEditor::TokenEditor(const ResultModel* model, TokenView* view) : QObject(view), m_model(model), m_view(view) {
    m_edit = new QLineEdit(view->viewport());
    m_edit->hide();
    m_edit->setToolTip(tr("Enter runs the job again with this text in place of the token and opens both results side "
                          "by side; Esc cancels"));
    m_edit->installEventFilter(new EscFilter(this));
    connect(m_edit, &QLineEdit::returnPressed, this, &TokenEditor::commit);
    connect(view, &TokenView::editRequested, this, [this](qint64 k) { open(k); });
}

bool TokenEditor::isOpen() const { return m_token >= 0 && !m_edit->isHidden(); }

bool TokenEditor::open(int64_t k) {
    if (!m_model->hasJob() || k < 0 || k >= m_model->promptLength()) return false;
    if (!m_model->segments().empty()) {
        // The prompt is a rendered chat: an edit belongs in its messages.
        emit message(tr("A chat's tokens cannot be edited in place: change the messages on the New job page."));
        return false;
    }
    const std::string& text = m_model->job().input.text;
    const auto& ctx = m_model->contextTokens();
    std::vector<std::string> prompt(ctx.begin(), ctx.begin() + m_model->promptLength());
    const auto spans = analysis::locateTokens(text, prompt);
    analysis::Span s = spans[static_cast<size_t>(k)];
    // Leading white space stays: the word is edited, not the gap before it.
    while (s.begin < s.end && (text[static_cast<size_t>(s.begin)] == ' ' || text[static_cast<size_t>(s.begin)] == '\t'))
        ++s.begin;
    if (s.empty()) {
        emit message(tr("This token (%1) covers no text of the prompt and cannot be edited.")
                         .arg(displayToken(ctx[static_cast<size_t>(k)])));
        return false;
    }
    m_token = k;
    m_begin = s.begin;
    m_end = s.end;
    const QString word = QString::fromStdString(text.substr(static_cast<size_t>(s.begin), static_cast<size_t>(s.end - s.begin)));
    m_edit->setText(word);
    const QRectF r = m_view->tokenRect(k);
    const int w = std::max(120, static_cast<int>(r.width()) + 60);
    m_edit->setGeometry(static_cast<int>(r.left()) - 2, static_cast<int>(r.top()) - 3, w,
                        std::max(static_cast<int>(r.height()) + 6, m_edit->sizeHint().height()));
    m_edit->show();
    m_edit->raise();
    m_edit->setFocus();
    m_edit->selectAll();
    emit message(tr("Edit “%1” and press Enter to run the edited prompt (Esc cancels).").arg(word));
    return true;
}

void TokenEditor::commit() {
    if (!isOpen()) return;
    const int64_t k = m_token;
    const std::string replacement = m_edit->text().toStdString();
    cancel();
    auto edit = makeEdit(m_model->job().input.text, m_begin, m_end, replacement);
    if (!edit) {
        emit message(tr("The token is unchanged: nothing to run."));
        return;
    }
    edit->token = k;
    edit->model = m_model->currentModel();
    if (!m_model->methods().empty()) edit->originalOutput = m_model->methodResult(0).output.text;
    emit edited(*edit);
}

void TokenEditor::cancel() {
    m_edit->hide();
    m_token = -1;
    m_view->setFocus();
}

} // namespace tokenlens::gui
