// The viewer's canvas: draws server-rendered frames, zoom/pan/rotate/flip without a round trip,
// prefetches frames for scrolling and cine, keeps at most one window/level request in flight and
// always shows the newest answer, and reports slices, windows and measurement points to Python.
// Python decides frames, windows, calibration and measurement values; nothing here is saved.
window.viewerStats = window.viewerStats || { drawn: 0, dropped: 0, requests: 0 };

export default {
  template: `<div style="position:relative;width:100%;height:100%;overflow:hidden;background:#000;touch-action:none"
      tabindex="0"><canvas ref="canvas" style="position:absolute;inset:0;width:100%;height:100%;display:block"></canvas></div>`,
  props: {
    tool: { type: String, default: 'scroll' },
    invert: { type: Boolean, default: false },
    showoverlay: { type: Boolean, default: true },
    playing: { type: Boolean, default: false },
    fps: { type: Number, default: 25 },
    active: { type: Boolean, default: false },
    viewport: { type: Number, default: 1024 },
  },
  data() {
    return { view: { zoom: 0, panX: 0, panY: 0, rotate: 0, flipH: false, flipV: false } };
  },
  mounted() {
    // Series-sized state is set through methods (setFrames, setInfo, setMarks, setWindow), not props,
    // so a scroll never re-sends the list of frames.
    this.frames = []; // [[url, columns, rows]]
    this.info = { overlay: {}, orient: null, spacing: 0, message: '' };
    this.marks = [];
    this.cache = new Map(); // url -> ImageBitmap or {error}
    this.loading = new Map(); // url -> the promise of its entry, while it is being fetched
    this.current = 0;
    this.win = null;
    this.fileWin = null;
    this.pendingWin = null;
    this.inFlight = false;
    this.shownBitmap = null;
    this.points = [];
    this.drag = null;
    this.pointers = new Map();
    this.ctx = this.$refs.canvas.getContext('2d');
    this.resizer = new ResizeObserver(() => this.draw());
    this.resizer.observe(this.$el);
    this.$el.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.$el.addEventListener('pointerdown', (e) => this.onDown(e));
    this.$el.addEventListener('pointermove', (e) => this.onMove(e));
    this.$el.addEventListener('pointerup', (e) => this.onUp(e));
    this.$el.addEventListener('pointercancel', (e) => this.onUp(e));
    this.$el.addEventListener('contextmenu', (e) => e.preventDefault());
    this.$el.addEventListener('dblclick', () => this.resetView());
    this.keyHandler = (e) => this.onKey(e);
    window.addEventListener('keydown', this.keyHandler);
    this.draw();
  },
  unmounted() {
    this.resizer.disconnect();
    window.removeEventListener('keydown', this.keyHandler);
    this.stopCine();
  },
  watch: {
    invert() { this.draw(); }, showoverlay() { this.draw(); }, active() { this.draw(); },
    tool() { this.points = []; this.draw(); },
    playing(value) {
      if (value) { this.startCine(); return; }
      this.stopCine();
      this.$emit('index', this.current); // where cine stopped: its reports (every 250 ms) may have missed it
    },
    fps() { if (this.playing) { this.stopCine(); this.startCine(); } },
  },
  methods: {
    // ------------------------------------------------------------ frames
    url(i, win) {
      const base = this.frames[i] && this.frames[i][0];
      if (!base) return null;
      const w = win === undefined ? this.win : win;
      let query = `viewport=${this.viewport},${this.viewport}&quality=90`;
      if (w) query += `&window=${w[0].toFixed(2)},${Math.max(1, w[1]).toFixed(2)},LINEAR`;
      return `${base}?${query}`;
    },
    load(url) {
      // One request per frame: a frame being prefetched is not asked for again when it is scrolled to.
      if (this.cache.has(url)) return Promise.resolve(this.cache.get(url));
      if (!this.loading.has(url)) {
        this.loading.set(url, this.fetchFrame(url).finally(() => this.loading.delete(url)));
      }
      return this.loading.get(url);
    },
    async fetchFrame(url) {
      window.viewerStats.requests += 1;
      let entry;
      try {
        const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'image/jpeg' } });
        if (!response.ok) {
          let detail = `error ${response.status}`;
          try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
          entry = { error: detail };
        } else {
          entry = await createImageBitmap(await response.blob());
        }
      } catch (e) {
        entry = { error: 'the server did not answer' };
      }
      this.cache.set(url, entry);
      if (this.cache.size > 1500) this.cache.delete(this.cache.keys().next().value);
      return entry;
    },
    async show(i) {
      if (!this.frames.length) { this.shownBitmap = null; this.draw(); return; }
      const url = this.url(i);
      const entry = await this.load(url);
      if (i !== this.current || url !== this.url(this.current)) return; // a newer slice was asked for meanwhile
      this.shownBitmap = entry;
      this.draw();
      this.prefetch(i);
    },
    prefetch() {
      // The whole series, a few requests at a time, each worker taking the frame nearest the one shown that is not
      // asked for yet (ahead in the direction of scrolling first), so prefetching follows the scrolling. Paused
      // while another viewport of the page is being scrolled (MPR's three planes): its frames come first.
      if (this.prefetching) return;
      this.prefetching = true;
      const run = this.prefetchRun = (this.prefetchRun || 0) + 1;
      const win = this.win ? this.win.slice() : null;
      const frames = this.frames;
      const urls = frames.map((_frame, i) => this.url(i, win));
      const nearest = () => {
        const ahead = this.direction || 1;
        for (let d = 1; d < urls.length; d++) {
          for (const i of [this.current + ahead * d, this.current - ahead * d]) {
            const url = i >= 0 && i < urls.length ? urls[i] : null;
            if (url && !this.cache.has(url) && !this.loading.has(url)) return url;
          }
        }
        return null;
      };
      const others = () => window.viewerScrolled && window.viewerScrolled.by !== this
                           && performance.now() - window.viewerScrolled.at < 400;
      const worker = async () => {
        while (this.prefetchRun === run && this.frames === frames) {
          if (others()) { await new Promise((resolve) => setTimeout(resolve, 100)); continue; }
          const url = nearest();
          if (!url) return;
          await this.load(url);
          this.emitProgress(false, win);
        }
      };
      Promise.all([worker(), worker(), worker(), worker()]).then(() => {
        if (this.prefetchRun !== run) return;
        this.prefetching = false;
        this.emitProgress(true, win);
      });
    },
    async requestWindowed() {
      // At most one request in flight; when it lands, ask for the newest window if it changed meanwhile.
      if (!this.frames.length) return;
      if (this.inFlight) { this.pendingWin = true; return; }
      this.inFlight = true;
      const i = this.current;
      const url = this.url(i);
      const entry = await this.load(url);
      this.inFlight = false;
      if (i === this.current && url === this.url(this.current)) { this.shownBitmap = entry; this.draw(); }
      if (this.pendingWin) { this.pendingWin = false; this.requestWindowed(); }
      else if (!this.drag) { this.prefetching = false; this.prefetch(this.current); }
    },
    step(delta) {
      if (!this.frames.length) return;
      const next = Math.max(0, Math.min(this.frames.length - 1, this.current + delta));
      if (next === this.current) return;
      this.direction = Math.sign(delta);
      window.viewerScrolled = { by: this, at: performance.now() }; // other viewports pause their prefetching
      this.current = next;
      this.show(next);
      this.$emit('index', next);
    },
    // ------------------------------------------------------------ cine
    startCine() {
      this.stopCine();
      this.cineStart = performance.now();
      this.cineFrom = this.current;
      const tick = (now) => {
        if (!this.playing) return;
        const due = this.cineFrom + Math.floor((now - this.cineStart) * this.fps / 1000);
        const target = due % Math.max(1, this.frames.length);
        if (target !== this.current) {
          const entry = this.cache.get(this.url(target));
          if (entry && !entry.error) {
            this.current = target; this.shownBitmap = entry; this.draw();
          } else {
            window.viewerStats.dropped += 1;
            this.load(this.url(target));
          }
          if (now - (this.lastEmit || 0) > 250) { this.lastEmit = now; this.$emit('index', this.current); }
        }
        this.cineRequest = requestAnimationFrame(tick);
      };
      this.cineRequest = requestAnimationFrame(tick);
    },
    stopCine() { if (this.cineRequest) cancelAnimationFrame(this.cineRequest); this.cineRequest = null; },
    // ------------------------------------------------------------ geometry
    baseScale(w, h) {
      const [cols, rows] = this.imgsize();
      const turned = this.view.rotate % 180 !== 0;
      return Math.min(w / (turned ? rows : cols), h / (turned ? cols : rows));
    },
    imgsize() {
      const f = this.frames[this.current];
      const b = this.shownBitmap;
      return f && f[1] && f[2] ? [f[1], f[2]] : b && b.width ? [b.width, b.height] : [512, 512];
    },
    scale(w, h) { return this.view.zoom > 0 ? this.view.zoom : this.baseScale(w, h); },
    toImage(cx, cy) {
      // Canvas CSS pixels -> image pixel coordinates (inverse of the drawing transform).
      const rect = this.$el.getBoundingClientRect();
      const s = this.scale(rect.width, rect.height);
      let x = (cx - rect.width / 2 - this.view.panX) / s;
      let y = (cy - rect.height / 2 - this.view.panY) / s;
      const a = -this.view.rotate * Math.PI / 180;
      [x, y] = [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)];
      if (this.view.flipH) x = -x;
      if (this.view.flipV) y = -y;
      return [x + this.imgsize()[0] / 2, y + this.imgsize()[1] / 2];
    },
    transform(ctx, w, h) {
      const s = this.scale(w, h);
      ctx.translate(w / 2 + this.view.panX, h / 2 + this.view.panY);
      ctx.rotate(this.view.rotate * Math.PI / 180);
      ctx.scale(s * (this.view.flipH ? -1 : 1), s * (this.view.flipV ? -1 : 1));
      ctx.translate(-this.imgsize()[0] / 2, -this.imgsize()[1] / 2);
    },
    // called from Python
    setFrames(frames, index, win) {
      this.stopCine();
      this.frames = frames; this.cache.clear(); this.prefetching = false;
      this.win = win; this.fileWin = win; this.marks = [];
      this.progressDone = false; this.lastProgress = 0;
      this.current = Math.max(0, Math.min(frames.length - 1, index || 0));
      this.view = { zoom: 0, panX: 0, panY: 0, rotate: 0, flipH: false, flipV: false };
      this.show(this.current);
      if (this.playing) this.startCine();
    },
    setInfo(info) { this.info = { ...this.info, ...info }; if (info.window !== undefined) this.fileWin = info.window; this.draw(); },
    setMarks(marks) { this.marks = marks; this.draw(); },
    setWindow(win) { this.win = win; this.requestWindowed(); },
    getWindow() { return this.win || this.fileWin; },
    // ------------------------------------------------------------ linked zoom/pan and loading progress (ui/viewer_links.py)
    // A view is told relative to the fitted image and the viewport's size, so viewports of other sizes or
    // images of other matrices line up; reported at most every 80 ms (and once more when the gesture settles).
    emitView() {
      const now = performance.now();
      clearTimeout(this.viewTimer);
      if (now - (this.lastView || 0) < 80) { this.viewTimer = setTimeout(() => this.emitView(), 80); return; }
      this.lastView = now;
      const r = this.$el.getBoundingClientRect();
      const fit = this.baseScale(r.width, r.height) || 1;
      this.$emit('viewChange', { zoom: this.view.zoom > 0 ? this.view.zoom / fit : 0,
                                 panX: this.view.panX / Math.max(1, r.width), panY: this.view.panY / Math.max(1, r.height) });
    },
    applyView(v) {
      // Another viewport's zoom and pan, without reporting it back.
      const r = this.$el.getBoundingClientRect();
      this.view.zoom = v.zoom > 0 ? v.zoom * this.baseScale(r.width, r.height) : 0;
      this.view.panX = v.panX * r.width; this.view.panY = v.panY * r.height;
      this.draw();
    },
    emitProgress(done, win) {
      // How many frames of the series are in the cache (first full load only), at most every 200 ms.
      if (this.progressDone || !this.frames.length) return;
      const now = performance.now();
      if (!done && now - (this.lastProgress || 0) < 200) return;
      this.lastProgress = now;
      let loaded = 0;
      for (let i = 0; i < this.frames.length; i++) if (this.cache.has(this.url(i, win))) loaded += 1;
      if (loaded >= this.frames.length) this.progressDone = true;
      this.$emit('progress', { loaded, total: this.frames.length });
    },
    resetView() { this.view = { zoom: 0, panX: 0, panY: 0, rotate: 0, flipH: false, flipV: false }; this.draw(); this.report(); },
    fit() { this.view.zoom = 0; this.view.panX = 0; this.view.panY = 0; this.draw(); this.report(); },
    oneToOne() { this.view.zoom = 1 / (window.devicePixelRatio || 1); this.draw(); this.report(); },
    zoomBy(f) { const r = this.$el.getBoundingClientRect(); this.view.zoom = Math.max(0.05, Math.min(40, this.scale(r.width, r.height) * f)); this.draw(); this.report(); },
    rotate90() { this.view.rotate = (this.view.rotate + 90) % 360; this.draw(); this.report(); },
    flipHorizontal() { this.view.flipH = !this.view.flipH; this.draw(); this.report(); },
    flipVertical() { this.view.flipV = !this.view.flipV; this.draw(); this.report(); },
    goTo(i) { this.current = Math.max(0, Math.min(this.frames.length - 1, i)); this.show(this.current); },
    stats() { return { ...window.viewerStats, index: this.current, cached: this.cache.size }; },
    report() {
      const r = this.$el.getBoundingClientRect();
      this.$emit('view', { zoom: this.scale(r.width, r.height), rotate: this.view.rotate, flipH: this.view.flipH,
                           flipV: this.view.flipV });
      this.emitView();
    },
    // ------------------------------------------------------------ input
    onWheel(e) {
      e.preventDefault();
      if (e.ctrlKey || this.tool === 'zoom') this.zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1);
      else this.step(e.deltaY > 0 ? 1 : -1);
    },
    onKey(e) {
      if (!this.active || ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName)) return;
      const steps = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10,
                      Home: -1e9, End: 1e9 };
      if (e.key in steps) { e.preventDefault(); this.step(steps[e.key]); }
    },
    onDown(e) {
      this.$el.focus({ preventScroll: true }); // the page must not move under the pointer (nor offsetX/Y below)
      this.$emit('activate');
      try { this.$el.setPointerCapture(e.pointerId); } catch (error) { /* synthetic or finished pointer */ }
      this.pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
      if (this.pointers.size === 2) { this.pinch = this.pinchDistance(); this.drag = null; return; }
      const mode = e.button === 2 ? 'wl' : e.button === 1 ? 'pan' : this.tool;
      const at = this.toImage(e.offsetX, e.offsetY);
      if (mode === 'crosshair') { this.emitPoint(at); this.drag = null; return; }
      this.drag = { mode, x: e.offsetX, y: e.offsetY, startWin: this.win ? this.win.slice() : this.fileWin ? this.fileWin.slice() : null,
                    startPan: [this.view.panX, this.view.panY], startIndex: this.current, from: at, to: at };
      if (['arrow', 'text'].includes(mode) && this.noteDown(at, e.offsetX, e.offsetY)) return;
      if (mode === 'angle') {
        this.points.push(at);
        if (this.points.length === 3) { this.emitMeasure('angle', this.points); this.points = []; }
        this.drag = null;
        this.draw();
      }
    },
    onMove(e) {
      if (this.pointers.has(e.pointerId)) this.pointers.set(e.pointerId, [e.offsetX, e.offsetY]);
      if (this.pointers.size === 2 && this.pinch) {
        const d = this.pinchDistance();
        this.zoomBy(d / this.pinch); this.pinch = d; return;
      }
      const drag = this.drag;
      if (!drag) return;
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      if (drag.mode === 'wl') {
        const start = drag.startWin || this.fileWin || [128, 256];
        const k = Math.max(0.5, start[1] / 256);
        this.win = [start[0] + dy * k, Math.max(1, start[1] + dx * k)];
        this.requestWindowed();
      } else if (drag.mode === 'pan') {
        this.view.panX = drag.startPan[0] + dx; this.view.panY = drag.startPan[1] + dy; this.draw(); this.emitView();
      } else if (drag.mode === 'zoom') {
        drag.y = e.offsetY; this.zoomBy(Math.exp(-dy / 200));
      } else if (drag.mode === 'scroll') {
        const target = drag.startIndex + Math.round(dy / 8);
        if (target !== this.current) this.step(target - this.current);
      } else if (['length', 'ellipse', 'rectangle', 'arrow'].includes(drag.mode)) {
        drag.to = this.toImage(e.offsetX, e.offsetY); this.draw();
      } else if (drag.mode === 'move-note') {
        this.noteMove(drag, this.toImage(e.offsetX, e.offsetY));
      }
    },
    onUp(e) {
      this.pointers.delete(e.pointerId);
      if (this.pointers.size < 2) this.pinch = null;
      const drag = this.drag;
      this.drag = null;
      if (!drag) return;
      if (drag.mode === 'wl' && this.win) this.$emit('window', this.win.slice());
      if (['length', 'ellipse', 'rectangle'].includes(drag.mode)) {
        const to = this.toImage(e.offsetX, e.offsetY);
        if (Math.hypot(to[0] - drag.from[0], to[1] - drag.from[1]) > 1) this.emitMeasure(drag.mode, [drag.from, to]);
        this.draw();
      }
      if (['arrow', 'move-note'].includes(drag.mode)) this.noteUp(drag, this.toImage(e.offsetX, e.offsetY));
    },
    pinchDistance() { const [a, b] = [...this.pointers.values()]; return Math.hypot(a[0] - b[0], a[1] - b[1]) || 1; },
    emitMeasure(kind, points) {
      this.$emit('measure', { kind, index: this.current, points: points.map(([x, y]) => [+x.toFixed(2), +y.toFixed(2)]) });
    },
    // ------------------------------------------------------------ drawing
    draw() {
      const canvas = this.$refs.canvas;
      if (!canvas) return;
      const rect = this.$el.getBoundingClientRect();
      const ratio = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(rect.width * ratio)), h = Math.max(1, Math.round(rect.height * ratio));
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      const ctx = this.ctx;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, rect.width, rect.height);
      const entry = this.shownBitmap;
      if (this.info.message || (entry && entry.error)) {
        this.placeholder(ctx, rect, this.info.message || entry.error);
      } else if (entry) {
        ctx.save();
        this.transform(ctx, rect.width, rect.height);
        ctx.imageSmoothingEnabled = this.scale(rect.width, rect.height) < 2;
        if (this.invert) ctx.filter = 'invert(1)';
        const [cols, rows] = this.imgsize();
        ctx.drawImage(entry, 0, 0, cols, rows);
        ctx.filter = 'none';
        this.drawMarks(ctx, rect);
        if (this.info.crosshair) this.drawCrosshair(ctx, rect);
        ctx.restore();
        window.viewerStats.drawn += 1;
        this.$el.dataset.drawn = String((+this.$el.dataset.drawn || 0) + 1);
        this.$el.dataset.index = String(this.current);
      }
      if (this.showoverlay) this.drawOverlay(ctx, rect);
      ctx.strokeStyle = this.active ? '#e39b2d' : '#333';
      ctx.lineWidth = 2;
      ctx.strokeRect(1, 1, rect.width - 2, rect.height - 2);
    },
    placeholder(ctx, rect, text) {
      ctx.fillStyle = '#222'; ctx.fillRect(0, 0, rect.width, rect.height);
      ctx.fillStyle = '#f5c26b'; ctx.font = '15px sans-serif'; ctx.textAlign = 'center';
      const words = text.split(' '); let line = ''; let y = rect.height / 2 - 20;
      for (const word of words) {
        if (ctx.measureText(line + word).width > rect.width - 40) { ctx.fillText(line, rect.width / 2, y); line = ''; y += 20; }
        line += word + ' ';
      }
      ctx.fillText(line, rect.width / 2, y);
      ctx.textAlign = 'left';
    },
    drawMarks(ctx, rect) {
      const s = this.scale(rect.width, rect.height);
      ctx.lineWidth = 1.5 / s;
      ctx.font = `${13 / s}px sans-serif`;
      const shapes = this.marks.filter((m) => m.index === this.current);
      if (this.drag && this.drag.mode === 'arrow') {
        shapes.push({ kind: 'arrow', points: [this.drag.from, this.drag.to], text: '', draft: true });
      }
      if (this.drag && ['length', 'ellipse', 'rectangle'].includes(this.drag.mode)) {
        shapes.push({ kind: this.drag.mode, points: [this.drag.from, this.drag.to], text: '', draft: true });
      }
      if (this.points.length) shapes.push({ kind: 'polyline', points: this.points, text: '', draft: true });
      for (const m of shapes) {
        if (m.kind === 'arrow' || m.kind === 'text') { this.drawNote(ctx, m, s); continue; }
        ctx.strokeStyle = m.draft ? '#ffeb3b' : '#4fc3f7';
        ctx.fillStyle = ctx.strokeStyle;
        const p = m.points;
        ctx.beginPath();
        if (m.kind === 'ellipse') {
          ctx.ellipse((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2, Math.abs(p[1][0] - p[0][0]) / 2,
                      Math.abs(p[1][1] - p[0][1]) / 2, 0, 0, 2 * Math.PI);
        } else if (m.kind === 'rectangle') {
          ctx.rect(p[0][0], p[0][1], p[1][0] - p[0][0], p[1][1] - p[0][1]);
        } else {
          ctx.moveTo(p[0][0], p[0][1]);
          for (const q of p.slice(1)) ctx.lineTo(q[0], q[1]);
        }
        ctx.stroke();
        if (m.text) {
          ctx.save();
          const [x, y] = p[p.length - 1];
          ctx.translate(x, y);
          ctx.scale(this.view.flipH ? -1 : 1, this.view.flipV ? -1 : 1);
          ctx.rotate(-this.view.rotate * Math.PI / 180);
          ctx.fillText(m.text, 6 / s, -6 / s);
          ctx.restore();
        }
      }
    },
    // ------------------------------------------------------------ annotations (arrows and text labels)
    // Marks with kind 'arrow' (tail, head) or 'text' (anchor) carry an id and whether this user may move them.
    // The arrow tool draws a new arrow unless it grabs an end (or the shaft) of one it may move; the text tool
    // asks Python for a label at the click unless it grabs a label. Python saves; nothing is kept here.
    noteDown(at, cx, cy) {
      const rect = this.$el.getBoundingClientRect();
      const reach = 10 / this.scale(rect.width, rect.height);
      const grabbed = this.grabNote(at, reach);
      if (grabbed) {
        this.drag = { mode: 'move-note', mark: grabbed.mark, handle: grabbed.handle, start: at,
                      original: grabbed.mark.points.map((p) => p.slice()), x: cx, y: cy };
        return true;
      }
      if (this.drag.mode === 'text') {
        this.drag = null;
        this.$emit('annotate', { kind: 'text', index: this.current, points: [[+at[0].toFixed(2), +at[1].toFixed(2)]] });
        return true;
      }
      return false; // a new arrow: dragged like a length
    },
    grabNote(at, reach) {
      const near = (p) => Math.hypot(p[0] - at[0], p[1] - at[1]) <= reach;
      for (const m of this.marks.filter((n) => n.index === this.current && n.editable && n.id)) {
        if (m.kind === 'text' && near(m.points[0])) return { mark: m, handle: 'all' };
        if (m.kind !== 'arrow') continue;
        if (near(m.points[1])) return { mark: m, handle: 1 };
        if (near(m.points[0])) return { mark: m, handle: 0 };
        const [a, b] = m.points, dx = b[0] - a[0], dy = b[1] - a[1], length2 = dx * dx + dy * dy || 1;
        const k = Math.max(0, Math.min(1, ((at[0] - a[0]) * dx + (at[1] - a[1]) * dy) / length2));
        if (near([a[0] + k * dx, a[1] + k * dy])) return { mark: m, handle: 'all' };
      }
      return null;
    },
    noteMove(drag, to) {
      const dx = to[0] - drag.start[0], dy = to[1] - drag.start[1];
      drag.mark.points = drag.original.map((p, n) => (drag.handle === 'all' || drag.handle === n ? [p[0] + dx, p[1] + dy] : p.slice()));
      drag.moved = drag.moved || dx !== 0 || dy !== 0;
      this.draw();
    },
    noteUp(drag, to) {
      const round = (p) => [+p[0].toFixed(2), +p[1].toFixed(2)];
      if (drag.mode === 'arrow') {
        if (Math.hypot(to[0] - drag.from[0], to[1] - drag.from[1]) > 2) {
          this.$emit('annotate', { kind: 'arrow', index: this.current, points: [round(drag.from), round(to)] });
        }
      } else {
        this.noteMove(drag, to); // where the pointer was let go
        if (drag.moved) this.$emit('annotationMove', { id: drag.mark.id, points: drag.mark.points.map(round) });
      }
      this.draw();
    },
    arrowHead(tail, head) {
      // The same arrowhead dicom/gsps.py writes: a quarter of the length, 4 to 24 pixels, wings at 25 degrees.
      const dx = head[0] - tail[0], dy = head[1] - tail[1];
      const size = Math.min(24, Math.max(4, Math.hypot(dx, dy) * 0.25)), angle = Math.atan2(dy, dx), wing = 25 * Math.PI / 180;
      return [1, -1].map((side) => [head[0] - size * Math.cos(angle - side * wing), head[1] - size * Math.sin(angle - side * wing)]);
    },
    drawNote(ctx, m, s) {
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = m.draft ? '#ffeb3b' : '#ffb300';
      ctx.lineWidth = 2.5 / s;
      ctx.lineCap = ctx.lineJoin = 'round';
      const p = m.points;
      if (m.kind === 'arrow') {
        const [left, right] = this.arrowHead(p[0], p[1]);
        ctx.beginPath();
        ctx.moveTo(p[0][0], p[0][1]); ctx.lineTo(p[1][0], p[1][1]);
        ctx.moveTo(left[0], left[1]); ctx.lineTo(p[1][0], p[1][1]); ctx.lineTo(right[0], right[1]);
        ctx.stroke();
      }
      if (m.text) {
        ctx.translate(p[0][0], p[0][1]);
        ctx.scale(this.view.flipH ? -1 : 1, this.view.flipV ? -1 : 1);
        ctx.rotate(-this.view.rotate * Math.PI / 180);
        ctx.font = `bold ${14 / s}px sans-serif`;
        ctx.fillText(m.text, 4 / s, -4 / s);
      }
      ctx.restore();
    },
    // ------------------------------------------------------------ MPR crosshair (ui/viewer_mpr.py)
    emitPoint(at) {
      this.$emit('point', { index: this.current, x: +at[0].toFixed(2), y: +at[1].toFixed(2) });
    },
    drawCrosshair(ctx, rect) {
      // Two lines through the linked point, with a gap so the voxel under it stays visible.
      const [x, y] = this.info.crosshair;
      const [cols, rows] = this.imgsize();
      const s = this.scale(rect.width, rect.height);
      const gap = 10 / s;
      ctx.strokeStyle = '#66bb6a'; ctx.lineWidth = 1 / s;
      ctx.beginPath();
      ctx.moveTo(0, y); ctx.lineTo(x - gap, y); ctx.moveTo(x + gap, y); ctx.lineTo(cols, y);
      ctx.moveTo(x, 0); ctx.lineTo(x, y - gap); ctx.moveTo(x, y + gap); ctx.lineTo(x, rows);
      ctx.stroke();
      this.$el.dataset.crosshair = `${x.toFixed(2)},${y.toFixed(2)}`;
      if (this.info.voxel) this.$el.dataset.voxel = this.info.voxel.join(',');
    },
    drawOverlay(ctx, rect) {
      ctx.font = '12px sans-serif';
      ctx.fillStyle = '#e0e0e0';
      const s = this.scale(rect.width, rect.height);
      const o = this.info.overlay || {};
      const w = this.win || this.fileWin;
      const extra = [`W ${w ? Math.round(w[1]) : '-'} L ${w ? Math.round(w[0]) : '-'}`,
                     `Zoom ${(s * 100).toFixed(0)}%`, `Image ${this.current + 1} / ${this.frames.length}`];
      const corners = { tl: o.tl || [], tr: o.tr || [], bl: [...(o.bl || []), ...extra], br: o.br || [] };
      for (const [corner, lines] of Object.entries(corners)) {
        ctx.textAlign = corner.endsWith('r') ? 'right' : 'left';
        const x = corner.endsWith('r') ? rect.width - 8 : 8;
        lines.forEach((line, n) => {
          const y = corner.startsWith('t') ? 18 + n * 15 : rect.height - 10 - (lines.length - 1 - n) * 15;
          ctx.fillText(line, x, y);
        });
      }
      ctx.textAlign = 'left';
      if (this.info.orient) this.drawOrientation(ctx, rect);
      if (this.info.spacing > 0 && this.shownBitmap && !this.shownBitmap.error) this.drawScaleBar(ctx, rect, s);
    },
    drawOrientation(ctx, rect) {
      // Markers follow the image: rotate and flip the four sides the way the picture was turned.
      const o = this.info.orient;
      let sides = { left: o.left, right: o.right, top: o.top, bottom: o.bottom };
      if (this.view.flipH) sides = { ...sides, left: sides.right, right: sides.left };
      if (this.view.flipV) sides = { ...sides, top: sides.bottom, bottom: sides.top };
      for (let r = 0; r < this.view.rotate; r += 90) {
        sides = { top: sides.left, right: sides.top, bottom: sides.right, left: sides.bottom };
      }
      ctx.font = 'bold 14px sans-serif';
      ctx.fillStyle = '#ffd54f';
      ctx.textAlign = 'center';
      ctx.fillText(sides.top || '', rect.width / 2, 34);
      ctx.fillText(sides.bottom || '', rect.width / 2, rect.height - 40);
      ctx.textAlign = 'left';
      ctx.fillText(sides.left || '', 8, rect.height / 2);
      ctx.textAlign = 'right';
      ctx.fillText(sides.right || '', rect.width - 8, rect.height / 2);
      ctx.textAlign = 'left';
    },
    drawScaleBar(ctx, rect, s) {
      const mmPerCss = this.info.spacing / s;
      const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500];
      const mm = nice.find((n) => n / mmPerCss >= 60) || 500;
      const length = mm / mmPerCss;
      const x = rect.width - 20, y = rect.height - 70;
      ctx.strokeStyle = '#e0e0e0'; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x - length, y); ctx.lineTo(x, y);
      ctx.moveTo(x - length, y - 5); ctx.lineTo(x - length, y + 5); ctx.moveTo(x, y - 5); ctx.lineTo(x, y + 5);
      ctx.stroke();
      ctx.textAlign = 'right'; ctx.fillText(mm >= 10 ? `${mm / 10} cm` : `${mm} mm`, x, y - 8); ctx.textAlign = 'left';
    },
  },
};
