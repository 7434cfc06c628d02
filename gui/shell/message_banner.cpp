#include "shell/message_banner.h"

#include "shell/theme.h"

#include <QApplication>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace tokenlens::gui {

MessageBanner::MessageBanner(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("messageBanner"));
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);
    auto* lay = new QHBoxLayout(this);
    lay->setContentsMargins(10, 6, 6, 6);
    m_icon = new QLabel(this);
    m_text = new QLabel(this);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_close = new QToolButton(this);
    m_close->setAutoRaise(true);
    m_close->setText(QStringLiteral("✕"));
    m_close->setToolTip(tr("Dismiss (Esc)"));
    connect(m_close, &QToolButton::clicked, this, &MessageBanner::dismiss);
    lay->addWidget(m_icon, 0, Qt::AlignTop);
    lay->addWidget(m_text, 1);
    lay->addWidget(m_close, 0, Qt::AlignTop);
    setAccessibleName(tr("Message"));
    hide();
}

QString MessageBanner::text() const { return m_text->text(); }

void MessageBanner::showMessage(Kind kind, const QString& text) {
    m_kind = kind;
    m_text->setText(text);
    restyle();
    show();
}

void MessageBanner::dismiss() { hide(); }

void MessageBanner::changeEvent(QEvent* event) {
    QFrame::changeEvent(event);
    if ((event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) &&
        !m_restyling) {
        restyle();
    }
}

void MessageBanner::restyle() {
    m_restyling = true;
    const bool dark = isDark(QApplication::palette());
    QColor bg, fg;
    QStyle::StandardPixmap icon = QStyle::SP_MessageBoxInformation;
    switch (m_kind) {
    case Kind::Error:
        bg = dark ? QColor(0x5c, 0x1f, 0x1f) : QColor(0xfd, 0xe2, 0xe1);
        icon = QStyle::SP_MessageBoxCritical;
        break;
    case Kind::Warning:
        bg = dark ? QColor(0x5a, 0x45, 0x12) : QColor(0xff, 0xf3, 0xcd);
        icon = QStyle::SP_MessageBoxWarning;
        break;
    case Kind::Info:
        bg = dark ? QColor(0x1d, 0x3a, 0x5c) : QColor(0xdd, 0xec, 0xfb);
        break;
    }
    fg = dark ? QColor(0xf0, 0xf0, 0xf0) : QColor(0x1a, 0x1a, 0x1a);
    QPalette pal = QApplication::palette();
    pal.setColor(QPalette::Window, bg);
    pal.setColor(QPalette::WindowText, fg);
    setPalette(pal);
    m_text->setPalette(pal);
    const int s = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
    m_icon->setPixmap(style()->standardIcon(icon, nullptr, this).pixmap(s, s));
    m_restyling = false;
}

} // namespace tokenlens::gui
