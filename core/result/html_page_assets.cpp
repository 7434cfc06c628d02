// The style sheet and script of the exported HTML page (html_page.h). The
// script reads the data block, colours tokens and heatmap cells as the app
// does (palette.h: hue = Σ v·C / Σ v, opacity = mean v · kMaxFillAlpha over
// the active methods' intensities, each method's matrix min–max normalised
// over its finite entries), folds the prompt's segments into chips and gives
// each segment one heatmap row, both coloured on the segment scale (the
// data's segment_matrix, analysis/segment_scale.h, as in the app) and, with
// #selftest, tests itself.

namespace tokenlens {

extern const char* const kHtmlPageStyle;
extern const char* const kHtmlPageScript;

const char* const kHtmlPageStyle = R"css(
body { font: 15px/1.5 system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
header { padding: 12px 20px; background: #fff; border-bottom: 1px solid #ddd; }
h1 { font-size: 18px; margin: 0 0 8px 0; }
h2 { font-size: 14px; margin: 0 0 6px 0; color: #555; text-transform: uppercase; letter-spacing: .04em; }
main { padding: 12px 20px; display: grid; gap: 16px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
#controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
#controls select { font: inherit; }
button.method { font: inherit; border: 1px solid #bbb; background: #fff; border-radius: 14px; padding: 2px 10px;
  cursor: pointer; display: inline-flex; align-items: center; gap: 6px; }
button.method[aria-pressed="false"] { opacity: .45; }
button.method .swatch { width: 12px; height: 12px; border-radius: 3px; display: inline-block; }
#tokens { font-family: "DejaVu Sans Mono", monospace; line-height: 2.1; }
.tok { padding: 2px 1px; margin: 0 1px; border-radius: 3px; cursor: pointer; white-space: pre;
  border: 1px solid transparent; }
.tok.out { border-bottom: 2px solid #888; }
.tok.focus { outline: 2px solid #1b1b1b; }
.tok.pinned { outline: 2px dashed #1b1b1b; }
.tok.chip { border: 1px dashed #888; padding: 2px 4px; white-space: normal; }
.fold { color: #888; cursor: pointer; margin: 0 1px; }
.sep { color: #888; margin: 0 6px; }
#mode, #details { color: #555; font-size: 13px; margin: 4px 0; min-height: 1.5em; }
#heatmap-wrap { overflow: auto; max-height: 80vh; }
canvas { display: block; }
footer { color: #777; font-size: 12px; padding: 4px 20px 16px; }
)css";

const char* const kHtmlPageScript = R"js(
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  var data = JSON.parse(document.getElementById('tl-data').textContent);
  var models = [];
  data.results.forEach(function (r) { if (models.indexOf(r.model) < 0) models.push(r.model); });
  var state = { model: models[0], active: {}, hover: -1, pinned: -1, hoverCell: null, open: {} };
  var tokensEl = document.getElementById('tokens');
  var canvas = document.getElementById('heatmap');
  var cell = 16, labelW = 120, labelH = 90;
  // The self-test reads pixels back; tell the canvas so before its first use.
  var g2d = canvas.getContext('2d', { willReadFrequently: location.hash === '#selftest' });

  function results() { return data.results.filter(function (r) { return r.model === state.model; }); }
  function activeResults() { return results().filter(function (r) { return state.active[r.method]; }); }
  function rgb(hex) { return [parseInt(hex.substr(1, 2), 16), parseInt(hex.substr(3, 2), 16), parseInt(hex.substr(5, 2), 16)]; }
  function at(r, i, j) { var v = r.raw[i * r.cols + j]; return v === null ? NaN : v; }
  function range(r) {
    if (!r.range) {
      var lo = Infinity, hi = -Infinity;
      r.raw.forEach(function (v) { if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
      r.range = [lo, hi];
    }
    return r.range;
  }
  function norm(r, v) {
    if (!isFinite(v)) return NaN;
    var g = range(r);
    return g[1] > g[0] ? (v - g[0]) / (g[1] - g[0]) : 0;
  }
  function minmax(vals) {
    var lo = Infinity, hi = -Infinity;
    vals.forEach(function (v) { if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    return vals.map(function (v) { return isFinite(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0) : NaN; });
  }
  // Intensities in [0,1] of every context token for one result.
  function intensities(r, focus) {
    var total = r.rows, n = r.n, t = r.cols, v = new Array(total).fill(NaN), i, j;
    if (focus < 0) {
      if (r.importance) return r.importance;
      var imp = [], out = [];
      for (i = 0; i < n; ++i) { var s = 0, any = false; for (j = 0; j < t; ++j) { var a = at(r, i, j); if (isFinite(a)) { s += a; any = true; } } imp.push(any ? s : NaN); }
      for (j = 0; j < t; ++j) { var s2 = 0, any2 = false; for (i = 0; i < n; ++i) { var b = at(r, i, j); if (isFinite(b)) { s2 += b; any2 = true; } } out.push(any2 ? s2 : NaN); }
      r.importance = minmax(imp).concat(minmax(out));
      return r.importance;
    }
    if (focus >= n) { j = focus - n; for (i = 0; i < total; ++i) v[i] = norm(r, at(r, i, j)); }
    else { for (j = 0; j < t; ++j) v[n + j] = norm(r, at(r, focus, j)); }
    return v;
  }
  // The app's blend: [r, g, b, alpha].
  function blend(values, colours) {
    var sum = 0, count = 0, c = [0, 0, 0];
    values.forEach(function (v, m) {
      if (!isFinite(v)) return;
      var w = Math.min(1, Math.max(0, v)); ++count; sum += w;
      for (var k = 0; k < 3; ++k) c[k] += w * colours[m][k];
    });
    if (count === 0 || sum <= 0) return [0, 0, 0, 0];
    return [c[0] / sum, c[1] / sum, c[2] / sum, sum / count * data.maxAlpha];
  }
  function css(c) { return 'rgba(' + Math.round(c[0]) + ',' + Math.round(c[1]) + ',' + Math.round(c[2]) + ',' + c[3].toFixed(3) + ')'; }
  function focus() { return state.pinned >= 0 ? state.pinned : state.hover; }
  function display(tok) { return tok.replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5'); }
  // The prompt's segments: the text a chip or a heatmap row shows.
  function segmentText(r, s) {
    var text = s.text || r.tokens.slice(s.tokens[0], s.tokens[1]).map(display).join('');
    return (s.label ? s.label + ': ' : '') + text.trim();
  }
  // The heatmap's rows as token ranges: one per segment (every prompt token
  // when there are none), then one per output token.
  function rowRanges(r) {
    if (!r.ranges) {
      var ranges = [], i;
      if (r.segments.length) r.segments.forEach(function (s) { ranges.push([s.tokens[0], s.tokens[1]]); });
      else for (i = 0; i < r.n; ++i) ranges.push([i, i + 1]);
      for (i = r.n; i < r.rows; ++i) ranges.push([i, i + 1]);
      r.ranges = ranges;
    }
    return r.ranges;
  }
  function rowOf(r, k) {
    var ranges = rowRanges(r);
    for (var i = 0; i < ranges.length; ++i) if (k >= ranges[i][0] && k < ranges[i][1]) return i;
    return -1;
  }
  // The segment scale (segment_matrix: the raw matrix summed into segments,
  // then min–max normalised on its segment rows; the output rows follow on
  // the same scale): cell (s, j), and segment s's intensity with focus f
  // (importance: row sums min–max over the segments; an output token: its
  // column, as a token's).
  function segAt(r, s, j) { var v = r.segment_matrix[s * r.cols + j]; return v === null ? NaN : v; }
  function segmentValue(r, s, f) {
    if (f >= r.n) return segAt(r, s, f - r.n);
    if (f >= 0) return NaN;
    if (!r.segImportance) {
      var imp = r.segments.map(function (g, i) {
        var sum = 0, any = false;
        for (var j = 0; j < r.cols; ++j) { var v = segAt(r, i, j); if (isFinite(v)) { sum += v; any = true; } }
        return any ? sum : NaN;
      });
      r.segImportance = minmax(imp);
    }
    return r.segImportance[s];
  }

  function buildControls() {
    var box = document.getElementById('controls');
    box.textContent = '';
    if (models.length > 1) {
      var sel = document.createElement('select');
      models.forEach(function (m) { var o = document.createElement('option'); o.value = m; o.textContent = m; sel.appendChild(o); });
      sel.value = state.model;
      sel.addEventListener('change', function () { state.model = sel.value; reset(); });
      box.appendChild(sel);
    }
    results().forEach(function (r) {
      var b = document.createElement('button');
      b.className = 'method'; b.dataset.method = r.method;
      b.setAttribute('aria-pressed', state.active[r.method] ? 'true' : 'false');
      var sw = document.createElement('span'); sw.className = 'swatch'; sw.style.background = r.colour;
      b.appendChild(sw); b.appendChild(document.createTextNode(r.label));
      b.addEventListener('click', function () {
        state.active[r.method] = !state.active[r.method];
        b.setAttribute('aria-pressed', state.active[r.method] ? 'true' : 'false');
        paint();
      });
      box.appendChild(b);
    });
  }
  function hoverable(e, k) {
    e.addEventListener('mouseover', function () { state.hover = k; paint(); });
    e.addEventListener('mouseout', function () { state.hover = -1; paint(); });
  }
  function buildTokens() {
    tokensEl.textContent = '';
    var r = results()[0], foldable = {}, skipTo = -1;
    // Segments of two tokens or more fold into one chip (at first folded).
    r.segments.forEach(function (s, i) { if (s.tokens[1] - s.tokens[0] > 1) foldable[s.tokens[0]] = i; });
    r.tokens.forEach(function (tok, k) {
      if (k < skipTo) return;
      if (k === r.n) { var s = document.createElement('span'); s.className = 'sep'; s.textContent = '\u2192'; tokensEl.appendChild(s); }
      var si = foldable[k];
      if (si !== undefined) {
        var seg = r.segments[si], end = seg.tokens[1];
        if (!state.open[si]) {
          var chip = document.createElement('span');
          chip.className = 'tok chip'; chip.dataset.k = k; chip.dataset.seg = si;
          chip.textContent = '\u25b8 ' + segmentText(r, seg);
          chip.title = 'x' + k + '\u2013x' + (end - 1) + ' (' + (end - k) + ' tokens): click to unfold';
          hoverable(chip, k);
          chip.addEventListener('click', function () { state.open[si] = true; buildTokens(); paint(); });
          tokensEl.appendChild(chip);
          skipTo = end;
          return;
        }
        var fold = document.createElement('span');
        fold.className = 'fold'; fold.textContent = '\u25be'; fold.title = 'Fold this segment';
        fold.addEventListener('click', function () { state.open[si] = false; buildTokens(); paint(); });
        tokensEl.appendChild(fold);
      }
      var e = document.createElement('span');
      e.className = 'tok' + (k >= r.n ? ' out' : ''); e.dataset.k = k; e.textContent = display(tok);
      e.title = (k < r.n ? 'x' + k : 'y' + (k - r.n)) + '  id ' + r.ids[k];
      hoverable(e, k);
      e.addEventListener('click', function () { state.pinned = state.pinned === k ? -1 : k; paint(); });
      tokensEl.appendChild(e);
    });
  }
  function paintTokens() {
    var rs = activeResults(), f = focus(), cols = rs.map(function (r) { return rgb(r.colour); });
    var vs = rs.map(function (r) { return intensities(r, f); });
    var r0 = results()[0];
    Array.prototype.forEach.call(tokensEl.querySelectorAll('.tok'), function (e) {
      var k = +e.dataset.k, seg = e.dataset.seg;
      var c = blend(seg === undefined ? vs.map(function (v) { return v[k]; })
                                      : rs.map(function (r) { return segmentValue(r, +seg, f); }), cols);
      e.style.background = css(c); e.dataset.alpha = c[3].toFixed(3);
      e.classList.toggle('focus', k === f && state.pinned < 0);
      e.classList.toggle('pinned', k === state.pinned);
    });
    var mode = document.getElementById('mode');
    if (f < 0) mode.textContent = 'Token importance of each token (prompt and output scaled apart). Hover a token.';
    else if (f >= r0.n) mode.textContent = 'What output token y' + (f - r0.n) + ' \u201c' + display(r0.tokens[f]) + '\u201d drew on.';
    else mode.textContent = 'How much each output token drew on prompt token x' + f + ' \u201c' + display(r0.tokens[f]) + '\u201d.';
    var det = document.getElementById('details');
    det.textContent = f < 0 ? '' : rs.map(function (r) {
      var v = f >= r.n ? 'p = ' + (r.probability[f - r.n] === null || r.probability[f - r.n] === undefined ? '\u2013' : r.probability[f - r.n].toFixed(3)) : '';
      return r.label + (v ? ' (' + v + ')' : '');
    }).join(' \u00b7 ');
  }
  // The cells and labels are drawn once per model, method set and width into
  // an offscreen canvas; a hover only copies it and draws the outline.
  var cached = { key: '', canvas: null };
  function heatmapCells(rs, r0) {
    var ranges = rowRanges(r0), rows = ranges.length, nseg = r0.segments.length, ncol = r0.cols;
    var wrapW = Math.max(320, document.getElementById('heatmap-wrap').clientWidth || 800);
    cell = Math.max(4, Math.min(28, Math.floor((wrapW - labelW - 10) / ncol)));
    var key = state.model + '|' + rs.map(function (r) { return r.method; }).join(',') + '|' + cell;
    if (cached.key === key) return cached.canvas;
    var off = document.createElement('canvas');
    off.width = labelW + ncol * cell + 2; off.height = labelH + rows * cell + 2;
    var g = off.getContext('2d'), cols = rs.map(function (r) { return rgb(r.colour); });
    g.fillStyle = '#ffffff'; g.fillRect(0, 0, off.width, off.height);
    g.font = Math.min(12, cell) + 'px sans-serif'; g.fillStyle = '#1b1b1b'; g.textBaseline = 'middle';
    var i, j;
    if (cell >= 8) {
      for (i = 0; i < rows; ++i) {
        var label = i < nseg ? segmentText(r0, r0.segments[i]) : display(r0.tokens[ranges[i][0]]);
        g.textAlign = 'right'; g.fillText(label.length > 14 ? label.slice(0, 13) + '\u2026' : label, labelW - 4, labelH + i * cell + cell / 2);
      }
      for (j = 0; j < ncol; ++j) {
        g.save(); g.translate(labelW + j * cell + cell / 2, labelH - 4); g.rotate(-Math.PI / 2); g.textAlign = 'left';
        g.fillText(display(r0.tokens[r0.n + j]).slice(0, 12), 0, 0); g.restore();
      }
    }
    for (i = 0; i < rows; ++i) {
      for (j = 0; j < ncol; ++j) {
        var x = labelW + j * cell, y = labelH + i * cell;
        var a = ranges[i][0];
        // With segments every row, the output rows too, is on the segment scale.
        var vals = rs.map(function (r) { return nseg ? segAt(r, i, j) : norm(r, at(r, a, j)); });
        var finite = vals.some(function (v) { return isFinite(v); });
        if (!finite) {
          g.fillStyle = '#ececec'; g.fillRect(x, y, cell, cell);
          g.strokeStyle = '#d0d0d0'; g.beginPath(); g.moveTo(x, y + cell); g.lineTo(x + cell, y); g.stroke();
          continue;
        }
        g.fillStyle = css(blend(vals, cols)); g.fillRect(x, y, cell, cell);
      }
    }
    cached = { key: key, canvas: off };
    return off;
  }
  function paintHeatmap() {
    var rs = activeResults(), r0 = results()[0], rows = rowRanges(r0).length, ncol = r0.cols;
    var off = heatmapCells(rs, r0);
    if (canvas.width !== off.width || canvas.height !== off.height) { canvas.width = off.width; canvas.height = off.height; }
    var g = g2d;
    g.drawImage(off, 0, 0);
    var f = focus();
    g.strokeStyle = '#1b1b1b'; g.lineWidth = 2;
    if (f >= r0.n) g.strokeRect(labelW + (f - r0.n) * cell, labelH, cell, rows * cell);
    else if (f >= 0) g.strokeRect(labelW, labelH + rowOf(r0, f) * cell, ncol * cell, cell);
    g.lineWidth = 1;
  }
  canvas.addEventListener('mousemove', function (e) {
    var b = canvas.getBoundingClientRect(), r0 = results()[0];
    var j = Math.floor((e.clientX - b.left - labelW) / cell), i = Math.floor((e.clientY - b.top - labelH) / cell);
    var k = (j >= 0 && j < r0.cols && i >= 0 && i < rowRanges(r0).length) ? r0.n + j : -1;
    if (k !== state.hover) { state.hover = k; paint(); }
  });
  canvas.addEventListener('mouseleave', function () { state.hover = -1; paint(); });
  canvas.addEventListener('click', function () { if (state.hover >= 0) { state.pinned = state.pinned === state.hover ? -1 : state.hover; paint(); } });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') { state.pinned = -1; paint(); } });

  function paint() { paintTokens(); paintHeatmap(); }
  function reset() {
    state.active = {}; state.hover = -1; state.pinned = -1; state.open = {};
    results().forEach(function (r) { state.active[r.method] = true; });
    buildControls(); buildTokens(); paint();
  }

  function alphas() { return Array.prototype.map.call(tokensEl.querySelectorAll('.tok'), function (e) { return +e.dataset.alpha; }); }
  function backgrounds() { return Array.prototype.map.call(tokensEl.querySelectorAll('.tok'), function (e) { return e.style.background; }); }
  function mouse(el, type) {
    var b = el.getBoundingClientRect();
    el.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window, clientX: b.left + 2, clientY: b.top + 2 }));
  }
  function pixel(i, j) {
    var p = g2d.getImageData(labelW + j * cell + Math.floor(cell / 4), labelH + i * cell + Math.floor(cell / 4), 1, 1).data;
    return [p[0], p[1], p[2]];
  }
  function selftest() {
    var out = { model: state.model, methods: activeResults().map(function (r) { return r.method; }) };
    var r0 = results()[0], k = r0.rows - 1, el = tokensEl.querySelector('[data-k="' + k + '"]');
    var shownRows = rowRanges(r0).length;
    out.n = r0.n; out.hovered = k; out.before = alphas(); out.heatmapRows = shownRows;
    out.tokenElements = Array.prototype.map.call(tokensEl.querySelectorAll('.tok'), function (e) { return +e.dataset.k; });
    out.chips = Array.prototype.map.call(tokensEl.querySelectorAll('.chip'), function (e) { return e.textContent; });
    mouse(el, 'mouseover'); mouse(el, 'mousemove');
    out.after = alphas(); out.focusClass = el.classList.contains('focus');
    out.heatmapFocusPixel = pixel(0, r0.cols - 1); out.heatmapNaNPixel = pixel(shownRows - 1, r0.cols - 1);
    mouse(el, 'click'); mouse(el, 'mouseout');
    out.pinnedAfterLeave = alphas(); out.pinned = state.pinned;
    var bg = backgrounds(), buttons = document.querySelectorAll('button.method');
    if (buttons.length > 1) { mouse(buttons[0], 'click'); out.toggled = buttons[0].dataset.method; out.backgroundsChanged = backgrounds().some(function (b, i) { return b !== bg[i]; }); mouse(buttons[0], 'click'); }
    mouse(el, 'click');
    out.unpinned = state.pinned === -1;
    var chip = tokensEl.querySelector('.chip');
    if (chip) { // a click unfolds the first chip, its marker folds it again
      mouse(chip, 'click');
      out.unfolded = Array.prototype.map.call(tokensEl.querySelectorAll('.tok'), function (e) { return +e.dataset.k; });
      mouse(tokensEl.querySelector('.fold'), 'click');
      out.refolded = tokensEl.querySelectorAll('.chip').length;
    }
    out.errors = errors;
    var pre = document.createElement('pre'); pre.id = 'selftest'; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }

  if (!data.results.length) {
    tokensEl.textContent = 'This result holds no completed attribution.';
    return;
  }
  reset();
  // #pin=K opens the page with context token K pinned (a link to a view).
  var pin = /^#pin=(\d+)$/.exec(location.hash);
  if (pin && +pin[1] < results()[0].rows) { state.pinned = +pin[1]; paint(); }
  if (location.hash === '#selftest') selftest();
})();
)js";

} // namespace tokenlens
