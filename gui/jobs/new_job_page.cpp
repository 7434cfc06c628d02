#include "new_job_page.h"

#include "attribution/method.h"
#include "files/file_loader.h"
#include "jobs/chat_editor.h"
#include "jobs/token_preview.h"
#include "run/job_runner.h"
#include "shell/theme.h"
#include "viewmodel/palette.h"

#include <QFontDatabase>

#include <QApplication>
#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QThreadPool>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tokenlens::gui {

NewJobPage::NewJobPage(QWidget* parent) : QWidget(parent), m_preview(new TokenPreview(this)) {
    connect(m_preview, &TokenPreview::tokenized, this, &NewJobPage::showTokens);
    auto* lay = new QHBoxLayout(this);
    auto* split = new QSplitter(Qt::Horizontal, this);
    auto* left = new QWidget(split);
    auto* leftLay = new QVBoxLayout(left);
    leftLay->setContentsMargins(0, 0, 0, 0);
    leftLay->addWidget(buildModels(), 3);
    leftLay->addWidget(buildMethods(), 4);
    auto* right = new QWidget(split);
    auto* rightLay = new QVBoxLayout(right);
    rightLay->setContentsMargins(0, 0, 0, 0);
    rightLay->addWidget(buildPrompt(), 1);
    rightLay->addWidget(buildTarget());

    auto* submitRow = new QHBoxLayout;
    m_problem = new QLabel(right);
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_submit = new QPushButton(tr("&Run job"), right);
    m_submit->setDefault(true);
    m_submit->setToolTip(tr("Queue the job: every chosen model with every chosen method (Ctrl+Return)"));
    m_submit->setMinimumWidth(140);
    submitRow->addWidget(m_problem, 1);
    submitRow->addWidget(m_submit);
    rightLay->addLayout(submitRow);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setSizes({560, 840});
    lay->addWidget(split);

    connect(m_submit, &QPushButton::clicked, this, &NewJobPage::submit);
    auto* sc = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
    sc->setContext(Qt::WidgetWithChildrenShortcut);
    connect(sc, &QShortcut::activated, this, &NewJobPage::submit);

    m_tokenTimer = new QTimer(this);
    m_tokenTimer->setSingleShot(true);
    m_tokenTimer->setInterval(150);
    connect(m_tokenTimer, &QTimer::timeout, this, &NewJobPage::tokenize);

    QSettings s;
    m_addedFolders = s.value(QStringLiteral("models/folders")).toStringList();
    loadTemplates();
    updateSubmit();
}

NewJobPage::~NewJobPage() = default;

// ----------------------------------------------------------------- methods

QWidget* NewJobPage::buildMethods() {
    auto* box = new QGroupBox(tr("Methods"), this);
    auto* lay = new QVBoxLayout(box);
    m_methodList = new QListWidget(box);
    for (const auto* m : allMethods()) {
        auto* item = new QListWidgetItem(methodLabel(m->id()), m_methodList);
        item->setData(Qt::UserRole, QString::fromStdString(m->id()));
        item->setToolTip(QString::fromStdString(m->description()));
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
        const bool on = m->id() == "attention" || m->id() == "saliency" || m->id() == "integrated_gradients";
        item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        QPixmap swatch(12, 12);
        swatch.fill(methodColour(m->id()));
        item->setIcon(QIcon(swatch));
    }
    m_methodList->setMaximumHeight(m_methodList->sizeHintForRow(0) * (m_methodList->count() + 1) + 8);
    lay->addWidget(m_methodList);
    m_methodInfo = new QLabel(box);
    m_methodInfo->setWordWrap(true);
    lay->addWidget(m_methodInfo);
    m_optionsBox = new QGroupBox(tr("Options"), box);
    m_optionsForm = new QFormLayout(m_optionsBox);
    lay->addWidget(m_optionsBox);
    lay->addStretch(1);
    connect(m_methodList, &QListWidget::itemChanged, this, [this] { updateSubmit(); });
    connect(m_methodList, &QListWidget::currentItemChanged, this, [this] { showMethodOptions(); });
    m_methodList->setCurrentRow(0);
    return box;
}

void NewJobPage::showMethodOptions() {
    while (m_optionsForm->rowCount() > 0) m_optionsForm->removeRow(0);
    auto* item = m_methodList->currentItem();
    if (!item) return;
    const QString id = item->data(Qt::UserRole).toString();
    const AttributionMethod* method = findMethod(id.toStdString());
    if (!method) return;
    m_methodInfo->setText(QString::fromStdString(method->description()));
    m_optionsBox->setTitle(tr("Options of %1").arg(methodLabel(id.toStdString())));
    const nlohmann::json& given = m_methodOptions[id];
    int shown = 0;
    for (const auto& o : method->options()) {
        // The target function and the reduction are chosen for the whole job.
        if (o.name == "target_fn" || o.name == "reduction") continue;
        const QString key = QString::fromStdString(o.name);
        const nlohmann::json value = given.contains(o.name) ? given[o.name] : o.defaultValue;
        QWidget* editor = nullptr;
        auto store = [this, id, key, def = o.defaultValue](const nlohmann::json& v) {
            if (v == def) m_methodOptions[id].erase(key.toStdString());
            else m_methodOptions[id][key.toStdString()] = v;
        };
        if (o.type == "int") {
            auto* sb = new QSpinBox(m_optionsBox);
            sb->setRange(o.min ? static_cast<int>(*o.min) : 0, o.max ? static_cast<int>(std::min(*o.max, 1e9)) : 1000000);
            sb->setValue(value.is_number() ? value.get<int>() : 0);
            connect(sb, &QSpinBox::valueChanged, this, [store](int v) { store(v); });
            editor = sb;
        } else if (o.type == "number") {
            auto* sb = new QDoubleSpinBox(m_optionsBox);
            sb->setDecimals(4);
            sb->setRange(o.min ? *o.min : -1e9, o.max ? *o.max : 1e9);
            sb->setValue(value.is_number() ? value.get<double>() : 0.0);
            connect(sb, &QDoubleSpinBox::valueChanged, this, [store](double v) { store(v); });
            editor = sb;
        } else if (o.type == "choice") {
            auto* cb = new QComboBox(m_optionsBox);
            for (const auto& c : o.choices) cb->addItem(QString::fromStdString(c));
            if (value.is_string()) cb->setCurrentText(QString::fromStdString(value.get<std::string>()));
            connect(cb, &QComboBox::currentTextChanged, this, [store](const QString& v) { store(v.toStdString()); });
            editor = cb;
        } else if (o.type == "text") {
            auto* le = new QLineEdit(m_optionsBox);
            if (value.is_string()) le->setText(QString::fromStdString(value.get<std::string>()));
            connect(le, &QLineEdit::textChanged, this, [store](const QString& v) { store(v.toStdString()); });
            editor = le;
        } else { // "layer": an index or "all"
            auto* cb = new QComboBox(m_optionsBox);
            cb->setEditable(true);
            cb->addItem(QStringLiteral("all"));
            cb->setCurrentText(value.is_string() ? QString::fromStdString(value.get<std::string>())
                                                 : QString::number(value.is_number() ? value.get<int>() : 0));
            connect(cb, &QComboBox::currentTextChanged, this, [store](const QString& v) {
                bool ok = false;
                const int n = v.toInt(&ok);
                store(ok ? nlohmann::json(n) : nlohmann::json(v.toStdString()));
            });
            editor = cb;
        }
        editor->setToolTip(QString::fromStdString(o.help));
        editor->setObjectName(QStringLiteral("option-%1-%2").arg(id, key));
        m_optionsForm->addRow(key + QLatin1Char(':'), editor);
        ++shown;
    }
    if (shown == 0) m_optionsForm->addRow(new QLabel(tr("No options besides the target and the reduction."), m_optionsBox));
}

QStringList NewJobPage::checkedMethods() const {
    QStringList out;
    for (int i = 0; i < m_methodList->count(); ++i) {
        if (m_methodList->item(i)->checkState() == Qt::Checked) out << m_methodList->item(i)->data(Qt::UserRole).toString();
    }
    return out;
}

void NewJobPage::setMethodChecked(const QString& id, bool on) {
    for (int i = 0; i < m_methodList->count(); ++i) {
        if (m_methodList->item(i)->data(Qt::UserRole).toString() == id) {
            m_methodList->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        }
    }
}

void NewJobPage::setMethodOption(const QString& method, const QString& key, const nlohmann::json& value) {
    m_methodOptions[method][key.toStdString()] = value;
    showMethodOptions();
}

// ------------------------------------------------------------------ prompt

QWidget* NewJobPage::buildPrompt() {
    auto* box = new QGroupBox(tr("Prompt"), this);
    auto* lay = new QVBoxLayout(box);
    auto* modeRow = new QHBoxLayout;
    m_promptTools = new QWidget(box);
    auto* row = new QHBoxLayout(m_promptTools);
    row->setContentsMargins(0, 0, 0, 0);
    modeRow->addWidget(buildModeSwitch(box));
    modeRow->addSpacing(12);
    modeRow->addWidget(m_promptTools, 1);
    modeRow->addStretch(0);
    m_templates = new QComboBox(box);
    m_templates->setToolTip(tr("Saved prompts: pick one to put it in the editor"));
    m_templates->setMinimumWidth(200);
    auto* save = new QPushButton(tr("Save as &Template…"), box);
    save->setToolTip(tr("Keep this prompt under a name for later jobs"));
    auto* remove = new QPushButton(tr("Remove"), box);
    remove->setToolTip(tr("Forget the chosen template"));
    m_promptSource = new QLabel(box);
    row->addWidget(new QLabel(tr("Template:"), box));
    row->addWidget(m_templates);
    row->addWidget(save);
    row->addWidget(remove);
    row->addStretch(1);
    modeRow->addWidget(m_promptSource);
    lay->addLayout(modeRow);
    lay->addWidget(m_chatNote);

    auto* split = new QSplitter(Qt::Vertical, box);
    m_inputStack = new QStackedWidget(split);
    m_prompt = new QPlainTextEdit(m_inputStack);
    m_prompt->setPlaceholderText(tr("Type a prompt, pick a template, or drop a .txt / .md file on the window"));
    m_prompt->setToolTip(tr("The text the models continue; its tokens are shown below as you type"));
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_prompt->setFont(mono);
    auto* tokBox = new QWidget(split);
    auto* tokLay = new QVBoxLayout(tokBox);
    tokLay->setContentsMargins(0, 0, 0, 0);
    m_tokenLabel = new QLabel(tokBox);
    m_tokenLabel->setWordWrap(true);
    m_tokens = new QTextBrowser(tokBox);
    m_tokens->setToolTip(tr("The prompt as the first ticked model's tokenizer splits it; special tokens in bold"));
    m_tokens->setFont(mono);
    tokLay->addWidget(m_tokenLabel);
    tokLay->addWidget(m_tokens, 1);
    m_inputStack->addWidget(m_prompt);
    m_inputStack->addWidget(m_chat);
    split->addWidget(m_inputStack);
    split->addWidget(tokBox);
    lay->addWidget(split, 1);

    m_batchLabel = new QLabel(box);
    m_batchLabel->setWordWrap(true);
    m_clearBatch = new QPushButton(tr("Clear Batch"), box);
    auto* batchRow = new QHBoxLayout;
    batchRow->addWidget(m_batchLabel, 1);
    batchRow->addWidget(m_clearBatch);
    lay->addLayout(batchRow);
    m_batchLabel->hide();
    m_clearBatch->hide();

    connect(m_prompt, &QPlainTextEdit::textChanged, this, [this] {
        scheduleTokenize();
        updateSubmit();
    });
    connect(m_templates, &QComboBox::activated, this, [this](int i) {
        if (i <= 0) return;
        QSettings s;
        const QString text = s.value(QStringLiteral("templates/") + m_templates->itemText(i)).toString();
        setPrompt(text, tr("template “%1”").arg(m_templates->itemText(i)));
    });
    connect(save, &QPushButton::clicked, this, [this] {
        bool ok = false;
        const QString name = QInputDialog::getText(this, tr("Save Template"), tr("Name:"), QLineEdit::Normal,
                                                   m_templates->currentIndex() > 0 ? m_templates->currentText() : QString(), &ok);
        if (ok && !name.trimmed().isEmpty()) saveTemplate(name.trimmed());
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        if (m_templates->currentIndex() > 0) removeTemplate(m_templates->currentText());
    });
    connect(m_clearBatch, &QPushButton::clicked, this, [this] { setBatch({}, {}); });
    return box;
}

void NewJobPage::loadTemplates() {
    const QSignalBlocker block(m_templates);
    m_templates->clear();
    m_templates->addItem(tr("(choose)"));
    m_templates->addItems(templateNames());
}

QStringList NewJobPage::templateNames() const {
    QSettings s;
    s.beginGroup(QStringLiteral("templates"));
    QStringList names = s.childKeys();
    names.sort(Qt::CaseInsensitive);
    return names;
}

void NewJobPage::saveTemplate(const QString& name) {
    QString key = name;
    key.replace(QLatin1Char('/'), QLatin1Char('-')).replace(QLatin1Char('\\'), QLatin1Char('-'));
    QSettings().setValue(QStringLiteral("templates/") + key, prompt());
    loadTemplates();
    m_templates->setCurrentText(key);
    emit statusMessage(tr("Saved the prompt as template “%1”.").arg(key), 4000);
}

void NewJobPage::removeTemplate(const QString& name) {
    QSettings().remove(QStringLiteral("templates/") + name);
    loadTemplates();
}

QString NewJobPage::prompt() const { return m_prompt->toPlainText(); }

void NewJobPage::setPrompt(const QString& text, const QString& source) {
    m_prompt->setPlainText(text);
    m_promptSource->setText(source.isEmpty() ? QString() : tr("from %1").arg(source));
}

// ------------------------------------------------------------ tokenization

void NewJobPage::scheduleTokenize() { m_tokenTimer->start(); }

void NewJobPage::tokenize() {
    const quint64 serial = ++m_tokenSerial;
    const QString model = firstCheckedModel();
    qint64 maxPositions = 0;
    for (const auto& m : m_models) {
        if (m.path == model) maxPositions = m.maxPositions;
    }
    if (model.isEmpty()) {
        showTokens(serial, {}, tr("Tick a model to see the prompt's tokens."), {}, {}, 0, 0);
        return;
    }
    if (m_modelSource) {
        showTokens(serial, {}, tr("The server tokenizes the prompt (no preview in remote mode)."), {}, {}, 0, 0);
        return;
    }
    if (chatMode()) {
        const QString reply = chatEditor()->reply();
        m_preview->runChat(serial, model, chatEditor()->messages(),
                           reply.trimmed().isEmpty() ? std::nullopt : std::optional<std::string>(reply.toStdString()),
                           chatEditor()->templateName().toStdString(), chatEditor()->raw(), maxPositions);
        return;
    }
    m_preview->run(serial, model, prompt().toStdString(), maxPositions);
}

void NewJobPage::showTokens(quint64 serial, const QString& modelPath, const QString& error, const QStringList& pieces,
                            const std::vector<int>& kinds, int count, qint64 maxPositions) {
    if (serial != m_tokenSerial) return;
    m_tokenMaxPositions = maxPositions;
    if (!error.isEmpty() || modelPath.isEmpty()) {
        m_tokenCount = -1;
        m_tokenLabel->setText(error);
        m_tokens->clear();
        updateSubmit();
        emit tokenizationChanged();
        return;
    }
    m_tokenCount = count;
    m_tokens->setHtml(TokenPreview::html(pieces, kinds, count, isDark(QApplication::palette())));
    updateSubmit();
    emit tokenizationChanged();
}


QString NewJobPage::tokenInfo() const { return m_tokenLabel->text(); }

// ------------------------------------------------------------------ target

QWidget* NewJobPage::buildTarget() {
    auto* box = new QGroupBox(tr("Output and target"), this);
    auto* grid = new QFormLayout(box);
    auto* genRow = new QHBoxLayout;
    m_generate = new QRadioButton(tr("&Generate"), box);
    m_generate->setToolTip(tr("Let each model write its own continuation (greedy), then attribute it"));
    m_maxNew = new QSpinBox(box);
    m_maxNew->setRange(1, 4096);
    m_maxNew->setValue(8);
    m_maxNew->setSuffix(tr(" new tokens at most"));
    m_maxNew->setToolTip(tr("Generation stops earlier at the end-of-text token"));
    genRow->addWidget(m_generate);
    genRow->addWidget(m_maxNew);
    genRow->addStretch(1);
    grid->addRow(genRow);
    m_force = new QRadioButton(tr("&Force this continuation:"), box);
    m_force->setToolTip(tr("Attribute a given output instead of the model's own (teacher forcing)"));
    m_target = new QPlainTextEdit(box);
    m_target->setMaximumHeight(56);
    m_target->setPlaceholderText(tr("The output to explain, e.g. “ blue”"));
    grid->addRow(m_force);
    grid->addRow(m_target);
    auto* group = new QButtonGroup(box);
    group->addButton(m_generate);
    group->addButton(m_force);
    m_generate->setChecked(true);
    m_target->setEnabled(false);
    m_targetFn = new QComboBox(box);
    m_targetFn->addItem(tr("probability"), QStringLiteral("probability"));
    m_targetFn->addItem(tr("log probability"), QStringLiteral("log_probability"));
    m_targetFn->addItem(tr("logit"), QStringLiteral("logit"));
    // Contrastive: the alternative is each method's contrast_token or contrast_text option.
    m_targetFn->addItem(tr("p(y) − p(contrast)"), QStringLiteral("contrast_probability_diff"));
    m_targetFn->addItem(tr("logit(y) − logit(contrast)"), QStringLiteral("contrast_logit_diff"));
    m_targetFn->setToolTip(tr("What the gradient and perturbation methods explain for each output token"));
    m_reduction = new QComboBox(box);
    m_reduction->addItem(tr("L2 norm"), QStringLiteral("l2"));
    m_reduction->addItem(tr("sum"), QStringLiteral("sum"));
    m_reduction->addItem(tr("mean"), QStringLiteral("mean"));
    m_reduction->setToolTip(tr("How a token's per-dimension scores become one number (gradient methods)"));
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Target function:"), box));
    row->addWidget(m_targetFn);
    row->addSpacing(16);
    row->addWidget(new QLabel(tr("Reduction:"), box));
    row->addWidget(m_reduction);
    m_computeDtype = new QComboBox(box);
    m_computeDtype->addItem(tr("float32 (reference numbers)"), QStringLiteral("float32"));
    m_computeDtype->addItem(tr("bfloat16 (faster, approximate)"), QStringLiteral("bfloat16"));
    m_computeDtype->setToolTip(tr("The dtype the model computes in. float32 matches the reference numbers; bfloat16 "
                                  "runs matrix products several times faster on CPUs with bfloat16 support and "
                                  "moves attributions by a few percent (docs/methods.md gives the measured distance)"));
    row->addSpacing(16);
    row->addWidget(new QLabel(tr("Compute in:"), box));
    row->addWidget(m_computeDtype);
    row->addStretch(1);
    grid->addRow(row);
    m_faithfulness = new QCheckBox(tr("Faithfulness &metrics (ERASER comprehensiveness and sufficiency, deletion and "
                                      "insertion curves, Kendall τ against leave-one-out)"),
                                   box);
    m_faithfulness->setToolTip(tr("After each method, remove the tokens it ranks first and measure how much the "
                                  "model's probability drops: about 3 forward passes per context token and output "
                                  "token, so slower on long prompts"));
    grid->addRow(m_faithfulness);
    connect(m_force, &QRadioButton::toggled, this, [this](bool on) {
        m_target->setEnabled(on);
        m_maxNew->setEnabled(!on);
        updateSubmit();
    });
    connect(m_target, &QPlainTextEdit::textChanged, this, &NewJobPage::updateSubmit);
    connect(m_maxNew, &QSpinBox::valueChanged, this, &NewJobPage::updateSubmit);
    return box;
}

void NewJobPage::setMaxNewTokens(int n) {
    m_generate->setChecked(true);
    m_maxNew->setValue(n);
}

void NewJobPage::setFaithfulness(bool on) { m_faithfulness->setChecked(on); }

bool NewJobPage::setComputeDtype(const QString& dtype) {
    const int i = m_computeDtype->findData(dtype);
    if (i < 0) return false;
    m_computeDtype->setCurrentIndex(i);
    return true;
}

void NewJobPage::setForcedTarget(const QString& text) {
    if (text.isEmpty()) {
        m_generate->setChecked(true);
        return;
    }
    m_force->setChecked(true);
    m_target->setPlainText(text);
}

// ------------------------------------------------------------------ submit

Result<Job> NewJobPage::spec() const {
    Job s;
    const QStringList methods = checkedMethods();
    for (const QString& m : checkedModels()) s.models.push_back(m.toStdString());
    for (const QString& m : methods) s.methods.push_back(m.toStdString());
    s.input = prompt().toStdString();
    if (s.models.empty()) return makeError(ErrorCode::InvalidArgument, tr("Tick at least one model.").toStdString());
    if (s.methods.empty()) return makeError(ErrorCode::InvalidArgument, tr("Tick at least one method.").toStdString());
    if (!hasBatch() && !chatMode() && QString::fromStdString(s.input).trimmed().isEmpty()) {
        return makeError(ErrorCode::InvalidArgument, tr("Write a prompt (or drop a .txt file on the window).").toStdString());
    }
    nlohmann::json o = nlohmann::json::object();
    if (m_force->isChecked() && !chatMode()) {
        const std::string t = m_target->toPlainText().toStdString();
        if (t.empty()) return makeError(ErrorCode::InvalidArgument, tr("Write the continuation to force, or choose Generate.").toStdString());
        s.targetText = t;
    } else {
        o["max_new_tokens"] = m_maxNew->value();
    }
    o["target_fn"] = m_targetFn->currentData().toString().toStdString();
    o["reduction"] = m_reduction->currentData().toString().toStdString();
    if (m_faithfulness->isChecked()) o["faithfulness"] = true;
    if (m_computeDtype->currentIndex() > 0) o["compute_dtype"] = m_computeDtype->currentData().toString().toStdString();
    nlohmann::json per = nlohmann::json::object();
    for (const auto& [id, opts] : m_methodOptions) {
        if (!opts.empty() && methods.contains(id)) per[id.toStdString()] = opts;
    }
    if (!per.empty()) o["methods"] = per;
    s.options = o;
    if (chatMode()) {
        if (auto st = applyChat(s); !st && !hasBatch()) return st.error();
    }
    if (auto st = checkJob(s); !st && !hasBatch()) return st.error();
    return s;
}

void NewJobPage::updateSubmit() {
    auto s = spec();
    QString problem;
    if (!s) problem = QString::fromStdString(s.error().message);
    if (s && m_discovering && checkedModels().isEmpty()) problem = tr("Looking for models…");
    if (s && m_tokenCount >= 0) {
        const int extra = s->targetText ? 0 : m_maxNew->value();
        QString info = tr("%n token(s)", nullptr, m_tokenCount);
        if (m_tokenMaxPositions > 0) {
            info += tr(" · the model takes %1 positions").arg(m_tokenMaxPositions);
            if (m_tokenCount + extra > m_tokenMaxPositions) {
                info += tr(" — <b>too long</b>: %1 + %2 new tokens exceed it; shorten the prompt or generate fewer "
                           "tokens")
                            .arg(m_tokenCount)
                            .arg(extra);
            }
        }
        m_tokenLabel->setText(info);
    }
    m_problem->setText(problem);
    m_submit->setEnabled(!s ? false : true);
    if (hasBatch()) m_submit->setText(tr("&Run batch"));
    else m_submit->setText(tr("&Run job"));
}

void NewJobPage::setBatch(const QString& text, const QString& path) {
    m_batchText = text;
    m_batchPath = path;
    const int lines = static_cast<int>(text.count(QLatin1Char('\n')) + (text.endsWith(QLatin1Char('\n')) || text.isEmpty() ? 0 : 1));
    m_batchLabel->setText(text.isEmpty() ? QString()
                                         : tr("Batch <b>%1</b>: %n line(s). Run batch queues one job per line with the "
                                              "models, methods and options chosen here.",
                                              nullptr, lines)
                                               .arg(QFileInfo(path).fileName().toHtmlEscaped()));
    m_batchLabel->setVisible(!text.isEmpty());
    m_clearBatch->setVisible(!text.isEmpty());
    updateSubmit();
}

void NewJobPage::submit() {
    auto s = spec();
    if (!s) {
        m_problem->setText(QString::fromStdString(s.error().message));
        emit statusMessage(QString::fromStdString(s.error().message), 5000);
        return;
    }
    if (hasBatch()) {
        emit batchSubmitRequested(m_batchText, m_batchPath, *s);
        setBatch({}, {});
        return;
    }
    emit submitRequested(*s);
}

} // namespace tokenlens::gui
