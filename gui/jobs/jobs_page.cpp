#include "jobs_page.h"

#include "jobs/backend/job_backend.h"
#include "jobs/job_list_model.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QSaveFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

namespace tokenlens::gui {

namespace {

// The Progress column as a progress bar with its percentage.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* p, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        QStyleOptionViewItem base = option;
        initStyleOption(&base, index);
        base.text.clear();
        const QWidget* w = option.widget;
        QStyle* style = w ? w->style() : QApplication::style();
        style->drawControl(QStyle::CE_ItemViewItem, &base, p, w);
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(3, 3, -3, -3);
        bar.minimum = 0;
        bar.maximum = 1000;
        bar.progress = index.data(JobListModel::ProgressRole).toInt();
        bar.text = index.data(Qt::DisplayRole).toString();
        bar.textVisible = true;
        bar.textAlignment = Qt::AlignCenter;
        bar.state = option.state | QStyle::State_Horizontal;
        bar.palette = option.palette;
        style->drawControl(QStyle::CE_ProgressBar, &bar, p, w);
    }
};

} // namespace

JobsPage::JobsPage(JobBackend* backend, QWidget* parent) : QWidget(parent), m_backend(backend) {
    m_model = new JobListModel(backend, this);
    m_runningFilter = new JobFilterModel(false, this);
    m_runningFilter->setSourceModel(m_model);
    m_finishedFilter = new JobFilterModel(true, this);
    m_finishedFilter->setSourceModel(m_model);

    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("Search prompts, models, methods, job ids…"));
    m_search->setClearButtonEnabled(true);
    m_search->setToolTip(tr("Shows only the jobs whose prompt, models, methods or id contain this text"));
    m_statusBox = new QComboBox(this);
    m_statusBox->addItem(tr("Any status"), -1);
    for (auto s : {jobs::JobStatus::Queued, jobs::JobStatus::Running, jobs::JobStatus::Completed,
                   jobs::JobStatus::Failed, jobs::JobStatus::Cancelled, jobs::JobStatus::Interrupted}) {
        QString name = QString::fromLatin1(jobs::statusName(s));
        name[0] = name[0].toUpper();
        m_statusBox->addItem(name, static_cast<int>(s));
    }
    m_statusBox->setToolTip(tr("Shows only the jobs with this status"));
    bar->addWidget(m_search, 1);
    bar->addWidget(m_statusBox);
    auto button = [&](const QString& text, const QString& tip) {
        auto* b = new QPushButton(text, this);
        b->setToolTip(tip);
        bar->addWidget(b);
        return b;
    };
    m_open = button(tr("&Open"), tr("Show the selected job's result on the dashboard (Enter or double-click)"));
    m_cancel = button(tr("&Cancel"), tr("Stop the selected jobs; finished pairs are kept"));
    m_rerun = button(tr("&Re-run"), tr("Run again what did not complete (failed, cancelled or interrupted pairs)"));
    m_export = button(tr("E&xport…"), tr("Save the selected job as result JSON (it can be imported again)"));
    m_delete = button(tr("&Delete"), tr("Delete the selected jobs and their results from the store"));
    if (backend && !backend->supports(JobBackend::Feature::Rerun)) {
        m_rerun->setToolTip(backend->unsupportedReason(JobBackend::Feature::Rerun));
    }
    lay->addLayout(bar);

    auto* split = new QSplitter(Qt::Vertical, this);
    auto section = [&](QLabel*& label, QTableView*& view, JobFilterModel* filter) {
        auto* box = new QWidget(split);
        auto* l = new QVBoxLayout(box);
        l->setContentsMargins(0, 4, 0, 0);
        label = new QLabel(box);
        QFont f = label->font();
        f.setBold(true);
        label->setFont(f);
        l->addWidget(label);
        view = makeView(filter);
        view->setParent(box);
        l->addWidget(view, 1);
        split->addWidget(box);
    };
    section(m_runningLabel, m_running, m_runningFilter);
    section(m_finishedLabel, m_finished, m_finishedFilter);
    m_running->hideColumn(JobListModel::Created);
    m_finished->hideColumn(JobListModel::Eta);
    m_finished->sortByColumn(JobListModel::Created, Qt::DescendingOrder);
    m_running->sortByColumn(JobListModel::Created, Qt::AscendingOrder);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2);
    lay->addWidget(split, 1);

    auto counts = [this] {
        m_runningLabel->setText(tr("Running and queued (%1)").arg(m_runningFilter->rowCount()));
        m_finishedLabel->setText(tr("Finished (%1)").arg(m_finishedFilter->rowCount()));
    };
    for (auto* f : {m_runningFilter, m_finishedFilter}) {
        connect(f, &QAbstractItemModel::rowsInserted, this, counts);
        connect(f, &QAbstractItemModel::rowsRemoved, this, counts);
        connect(f, &QAbstractItemModel::modelReset, this, counts);
        connect(f, &QAbstractItemModel::layoutChanged, this, counts);
    }
    counts();

    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& t) {
        m_runningFilter->setSearch(t);
        m_finishedFilter->setSearch(t);
    });
    connect(m_statusBox, &QComboBox::currentIndexChanged, this, [this] {
        const int s = m_statusBox->currentData().toInt();
        m_runningFilter->setStatusFilter(s);
        m_finishedFilter->setStatusFilter(s);
    });
    connect(m_open, &QPushButton::clicked, this, [this] {
        const QStringList ids = selectedJobs();
        if (!ids.isEmpty()) emit openRequested(ids.first());
    });
    connect(m_cancel, &QPushButton::clicked, this, [this] { cancelJobs(selectedJobs()); });
    connect(m_rerun, &QPushButton::clicked, this, [this] { rerunJobs(selectedJobs()); });
    connect(m_delete, &QPushButton::clicked, this, [this] { deleteJobs(selectedJobs()); });
    connect(m_export, &QPushButton::clicked, this, [this] {
        const QStringList ids = selectedJobs();
        if (!ids.isEmpty()) exportJob(ids.first());
    });
    connect(m_model, &QAbstractItemModel::dataChanged, this, &JobsPage::updateButtons);
    updateButtons();
}

QTableView* JobsPage::makeView(JobFilterModel* filter) {
    auto* v = new QTableView(this);
    v->setModel(filter);
    v->setSortingEnabled(true);
    v->setSelectionBehavior(QAbstractItemView::SelectRows);
    v->setSelectionMode(QAbstractItemView::ExtendedSelection);
    v->setEditTriggers(QAbstractItemView::NoEditTriggers);
    v->setAlternatingRowColors(true);
    v->setWordWrap(false);
    v->verticalHeader()->hide();
    v->horizontalHeader()->setStretchLastSection(false);
    v->horizontalHeader()->setSectionResizeMode(JobListModel::Prompt, QHeaderView::Stretch);
    v->setColumnWidth(JobListModel::Status, 150);
    v->setColumnWidth(JobListModel::Models, 170);
    v->setColumnWidth(JobListModel::Methods, 260);
    v->setColumnWidth(JobListModel::Progress, 110);
    v->setColumnWidth(JobListModel::Created, 150);
    v->setItemDelegateForColumn(JobListModel::Progress, new ProgressDelegate(v));
    connect(v, &QTableView::doubleClicked, this, [this, filter](const QModelIndex& i) {
        emit openRequested(filter->data(i, JobListModel::IdRole).toString());
    });
    connect(v, &QTableView::activated, this, [this, filter](const QModelIndex& i) {
        emit openRequested(filter->data(i, JobListModel::IdRole).toString());
    });
    connect(v->selectionModel(), &QItemSelectionModel::selectionChanged, this, &JobsPage::updateButtons);
    return v;
}

QStringList JobsPage::selectedJobs() const {
    QStringList ids;
    QTableView* views[2] = {m_running, m_finished};
    if (m_finished->hasFocus()) std::swap(views[0], views[1]);
    for (QTableView* v : views) {
        for (const QModelIndex& i : v->selectionModel()->selectedRows()) {
            const QString id = v->model()->data(i, JobListModel::IdRole).toString();
            if (!id.isEmpty() && !ids.contains(id)) ids << id;
        }
    }
    return ids;
}

void JobsPage::selectJob(const QString& id) {
    for (QTableView* v : {m_running, m_finished}) {
        v->clearSelection();
        auto* f = static_cast<JobFilterModel*>(v->model());
        for (int r = 0; r < f->rowCount(); ++r) {
            if (f->data(f->index(r, 0), JobListModel::IdRole).toString() == id) {
                v->selectRow(r);
                v->scrollTo(f->index(r, 0));
            }
        }
    }
    updateButtons();
}

void JobsPage::updateButtons() {
    const QStringList ids = selectedJobs();
    bool anyRunning = false, anyRerunnable = false;
    for (const QString& id : ids) {
        const int row = m_model->rowOf(id);
        const auto* rec = m_model->record(row);
        if (!rec) continue;
        anyRunning = anyRunning || !jobs::isFinal(rec->status);
        for (const auto& p : rec->pairs) {
            if (p.status == jobs::JobStatus::Failed || p.status == jobs::JobStatus::Cancelled ||
                p.status == jobs::JobStatus::Interrupted) {
                anyRerunnable = true;
            }
        }
    }
    m_open->setEnabled(ids.size() == 1);
    m_export->setEnabled(ids.size() == 1);
    m_cancel->setEnabled(anyRunning);
    m_rerun->setEnabled(anyRerunnable && m_backend && m_backend->supports(JobBackend::Feature::Rerun));
    m_delete->setEnabled(!ids.isEmpty());
}

void JobsPage::cancelJobs(const QStringList& ids) {
    int n = 0;
    for (const QString& id : ids) n += m_backend->cancelJob(id.toStdString()) ? 1 : 0;
    emit statusMessage(n ? tr("Cancelling %n job(s)…", nullptr, n) : tr("Nothing to cancel."), 4000);
}

void JobsPage::rerunJobs(const QStringList& ids) {
    int n = 0;
    QStringList errors;
    for (const QString& id : ids) {
        auto r = m_backend->rerun(id.toStdString());
        if (!r) errors << QString::fromStdString(r.error().message);
        else if (*r) ++n;
    }
    if (!errors.isEmpty()) emit statusMessage(tr("Re-run failed: %1").arg(errors.join(QStringLiteral("; "))), 8000);
    else emit statusMessage(n ? tr("Re-running %n job(s).", nullptr, n) : tr("Every pair of these jobs completed."), 4000);
}

void JobsPage::deleteJobs(const QStringList& ids, bool confirm) {
    if (ids.isEmpty()) return;
    if (confirm &&
        QMessageBox::question(this, tr("Delete jobs"),
                              tr("Delete %n job(s) and their results from the store? This cannot be undone.", nullptr,
                                 static_cast<int>(ids.size()))) != QMessageBox::Yes) {
        return;
    }
    QStringList errors;
    for (const QString& id : ids) {
        if (auto r = m_backend->remove(id.toStdString()); !r) errors << QString::fromStdString(r.error().message);
        m_model->refreshJob(id);
    }
    if (!errors.isEmpty()) emit statusMessage(tr("Delete failed: %1").arg(errors.join(QStringLiteral("; "))), 8000);
    else emit statusMessage(tr("Deleted %n job(s).", nullptr, static_cast<int>(ids.size())), 4000);
}

void JobsPage::exportJob(const QString& id) {
    auto j = m_backend->exportJob(id.toStdString());
    if (!j) {
        emit statusMessage(tr("Export failed: %1").arg(QString::fromStdString(j.error().message)), 8000);
        return;
    }
    QSettings s;
    const QString dir = s.value(QStringLiteral("export/dir"), QDir::homePath()).toString();
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Job"), dir + QStringLiteral("/job-%1.json").arg(id),
                                                      tr("TokenLens results (*.json)"));
    if (path.isEmpty()) return;
    s.setValue(QStringLiteral("export/dir"), QFileInfo(path).absolutePath());
    QSaveFile f(path); // all or nothing: an existing file is replaced only by a complete one
    const std::string text = j->dump(1);
    if (!f.open(QIODevice::WriteOnly) ||
        f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()) || !f.commit()) {
        emit statusMessage(tr("Could not write %1: %2").arg(path, f.errorString()), 8000);
        return;
    }
    emit statusMessage(tr("Exported job %1 to %2").arg(id, path), 6000);
}

} // namespace tokenlens::gui
