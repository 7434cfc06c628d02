// The New job page's model list: the catalogue (or a server's models),
// checked models, added folders; NewJobPage's models section.
#include "new_job_page.h"

#include "attribution/method.h"
#include "files/file_loader.h"
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
#include <QTextBrowser>
#include <QThreadPool>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tokenlens::gui {

namespace {

constexpr int kPathRole = Qt::UserRole + 1;

enum ModelColumn { ColName, ColArch, ColParams, ColDtype, ColSize, ColSource, ColCount };

QString sourceLabel(const QString& s) {
    if (s == u"demo") return QObject::tr("bundled demo");
    if (s == u"hf-cache") return QObject::tr("Hugging Face cache");
    if (s == u"server") return QObject::tr("on the server");
    return QObject::tr("added folder");
}

} // namespace

QWidget* NewJobPage::buildModels() {
    auto* box = new QGroupBox(tr("Models"), this);
    auto* lay = new QVBoxLayout(box);
    m_modelList = new QTreeWidget(box);
    m_modelList->setColumnCount(ColCount);
    m_modelList->setHeaderLabels({tr("Model"), tr("Architecture"), tr("Parameters"), tr("Stored"), tr("Size"), tr("Source")});
    m_modelList->setRootIsDecorated(false);
    m_modelList->setAlternatingRowColors(true);
    for (int c = ColName; c < ColCount; ++c) m_modelList->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_modelList->header()->setStretchLastSection(true);
    m_modelList->setToolTip(tr("Tick the models to run; each runs every chosen method"));
    lay->addWidget(m_modelList, 1);
    m_modelInfo = new QLabel(tr("Looking for models…"), box);
    m_modelInfo->setWordWrap(true);
    m_modelInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(m_modelInfo);
    auto* row = new QHBoxLayout;
    auto* add = m_addFolder = new QPushButton(tr("Add &Folder…"), box);
    add->setToolTip(tr("A model folder (config.json, *.safetensors, tokenizer.json) or a folder of them"));
    auto* refresh = new QPushButton(tr("Re&fresh"), box);
    refresh->setToolTip(tr("Look for models again (demo models, added folders, the Hugging Face cache)"));
    row->addWidget(add);
    row->addWidget(refresh);
    row->addStretch(1);
    lay->addLayout(row);

    connect(add, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Add Model Folder"), QDir::homePath());
        if (!dir.isEmpty()) addModelFolder(dir);
    });
    connect(refresh, &QPushButton::clicked, this, &NewJobPage::refreshModels);
    connect(m_modelList, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem*, int column) {
        if (column != ColName) return;
        followModelForMode();
        scheduleTokenize();
        updateSubmit();
    });
    connect(m_modelList, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        if (!item) return;
        const QString path = item->data(ColName, kPathRole).toString();
        for (const auto& m : m_models) {
            if (m.path == path) {
                m_modelInfo->setText(m.usable() ? QStringLiteral("%1 — %2 positions · %3").arg(m.path).arg(m.maxPositions).arg(m.summary())
                                                : m.error);
            }
        }
    });
    return box;
}

void NewJobPage::addModelFolder(const QString& path) {
    const QString abs = QDir(path).absolutePath();
    if (!m_addedFolders.contains(abs)) m_addedFolders << abs;
    QSettings().setValue(QStringLiteral("models/folders"), m_addedFolders);
    // Tick what the folder brings once it is read.
    auto ticks = std::make_shared<QMetaObject::Connection>();
    *ticks = connect(this, &NewJobPage::modelsChanged, this, [this, abs, ticks] {
        disconnect(*ticks);
        for (const auto& m : m_models) {
            if (m.usable() && (m.path == abs || m.path.startsWith(abs + QLatin1Char('/')))) setModelChecked(m.path, true);
        }
    });
    refreshModels();
}

void NewJobPage::setModelSource(std::function<Result<std::vector<ModelEntry>>()> source, const QString& addFolderReason) {
    m_modelSource = std::move(source);
    m_addFolder->setEnabled(!m_modelSource);
    m_addFolder->setToolTip(addFolderReason);
    refreshModels();
}

void NewJobPage::refreshModels() {
    const quint64 serial = ++m_discoverSerial;
    m_discovering = true;
    m_modelInfo->setText(tr("Looking for models…"));
    QPointer<NewJobPage> self(this);
    if (m_modelSource) {
        auto source = m_modelSource;
        QThreadPool::globalInstance()->start([self, serial, source] {
            auto found = std::make_shared<Result<std::vector<ModelEntry>>>(source());
            QMetaObject::invokeMethod(
                qApp,
                [self, serial, found] {
                    if (!self || serial != self->m_discoverSerial) return;
                    self->m_discovering = false;
                    if (!*found) {
                        self->setModels({});
                        self->m_modelInfo->setText(tr("The server's models could not be listed: %1")
                                                       .arg(QString::fromStdString(found->error().message)));
                        return;
                    }
                    self->setModels(std::move(found->value()));
                },
                Qt::QueuedConnection);
        });
        return;
    }
    const QStringList folders = m_addedFolders;
    QThreadPool::globalInstance()->start([self, serial, folders] {
        auto found = std::make_shared<std::vector<ModelEntry>>(discoverModels(folders));
        QMetaObject::invokeMethod(
            qApp,
            [self, serial, found] {
                if (!self || serial != self->m_discoverSerial) return;
                self->m_discovering = false;
                self->setModels(std::move(*found));
            },
            Qt::QueuedConnection);
    });
}

void NewJobPage::setModels(std::vector<ModelEntry> models) {
    const QStringList wasChecked = checkedModels();
    const bool first = m_models.empty() && wasChecked.isEmpty();
    m_models = std::move(models);
    rebuildModelList();
    if (first) {
        // First look: the demo models ticked, so a new user can just press Run.
        for (const auto& m : m_models) {
            if (m.source == u"demo" && m.usable()) setModelChecked(m.path, true);
        }
    } else {
        for (const QString& p : wasChecked) setModelChecked(p, true);
    }
    int usable = 0;
    for (const auto& m : m_models) usable += m.usable() ? 1 : 0;
    m_modelInfo->setText(m_models.empty() ? tr("No models found. Add a folder with config.json, *.safetensors and "
                                               "tokenizer.json, or put models in the Hugging Face cache.")
                                          : tr("%n model(s) found; hover one for its details.", nullptr, usable));
    followModelForMode();
    scheduleTokenize();
    updateSubmit();
    emit modelsChanged();
}

void NewJobPage::rebuildModelList() {
    const QSignalBlocker block(m_modelList);
    m_modelList->clear();
    for (const auto& m : m_models) {
        auto* item = new QTreeWidgetItem(m_modelList);
        item->setText(ColName, m.name);
        item->setData(ColName, kPathRole, m.path);
        item->setText(ColSource, sourceLabel(m.source));
        if (m.usable()) {
            item->setText(ColArch, m.architecture);
            item->setText(ColParams, humanCount(m.parameters));
            item->setText(ColDtype, m.dtype);
            item->setText(ColSize, humanBytes(m.bytes));
            item->setToolTip(ColName, QStringLiteral("%1\n%2\n%3 positions").arg(m.path, m.summary()).arg(m.maxPositions));
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
        } else {
            item->setText(ColArch, tr("cannot be used"));
            item->setToolTip(ColName, m.error);
            item->setToolTip(ColArch, m.error);
            item->setForeground(ColName, QApplication::palette().color(QPalette::Disabled, QPalette::Text));
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        }
        if (m.usable()) item->setCheckState(ColName, Qt::Unchecked);
    }
}

QStringList NewJobPage::checkedModels() const {
    QStringList out;
    for (int i = 0; i < m_modelList->topLevelItemCount(); ++i) {
        auto* item = m_modelList->topLevelItem(i);
        if ((item->flags() & Qt::ItemIsUserCheckable) && item->checkState(ColName) == Qt::Checked) {
            out << item->data(ColName, kPathRole).toString();
        }
    }
    return out;
}

void NewJobPage::setModelChecked(const QString& path, bool on) {
    const QString abs = m_modelSource ? path : QDir(path).absolutePath(); // a server's models go by id
    for (int i = 0; i < m_modelList->topLevelItemCount(); ++i) {
        auto* item = m_modelList->topLevelItem(i);
        if (item->data(ColName, kPathRole).toString() == abs && (item->flags() & Qt::ItemIsUserCheckable)) {
            item->setCheckState(ColName, on ? Qt::Checked : Qt::Unchecked);
        }
    }
}

QString NewJobPage::firstCheckedModel() const {
    const QStringList c = checkedModels();
    return c.isEmpty() ? QString() : c.first();
}

} // namespace tokenlens::gui
