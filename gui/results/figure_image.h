#pragma once
// The PNG side of the export figures: `paint` on an image of `size` pixels
// at `scale` device pixels per pixel (clamped to 0.25..8), filled with `base`.

#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <functional>

namespace tokenlens::gui {

inline QImage figureImage(QSizeF size, double scale, const QColor& base, const std::function<void(QPainter&)>& paint) {
    scale = std::clamp(scale, 0.25, 8.0);
    QImage img(static_cast<int>(std::ceil(size.width() * scale)), static_cast<int>(std::ceil(size.height() * scale)),
               QImage::Format_ARGB32_Premultiplied);
    img.setDevicePixelRatio(scale);
    img.fill(base);
    QPainter p(&img);
    paint(p);
    p.end();
    return img;
}

} // namespace tokenlens::gui
