// The board: several Plotly charts kept mounted in one Streamlit component, redrawn in place.
//
// Loaded by ui/plotly_live.py as the component's JavaScript. It runs in the page
// (isolate_styles=False, so parentElement is an ordinary div). Streamlit calls the default
// export on mount and again, on the same parentElement, whenever `data` changes; the cleanup
// it returns runs only when the element is removed.
//
// `data` is one JSON message: {key, theme, built_for, src, config, charts: [{key, span, height, fit,
// weight, figure}]}. `built_for` names the theme ("light" or "dark") the figures' colours were
// chosen for; when the page shows the other one, the board says so through the component's
// `theme` state and Python sends figures for it.
//
// `stream` (optional): {url, token, live, status}. While `live`, the board follows the run's live
// stream (ui/stream.py, docs/stream.md): a websocket whose frames, {type: "frame", seq, status,
// charts}, are drawn in the same divs by the same code, newest first; the delta frames after a full one,
// {type: "delta", seq, status, charts: [{key, ops}]}, edit the figures it holds (applyOps) and redraw the
// charts they change. It reports its first frame as
// its `stream` state (the token; the page then stops its timer) and the server's {type: "stopped"}
// as its `stopped` trigger (the page redraws its buttons). While the page gives it a `status`, the
// board shows the status line above its charts, from each frame.

const LOADS = (window.__plotlyLiveLoads ??= {});

function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  LOADS[src] ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { delete LOADS[src]; reject(new Error(`could not load ${src}`)); };
    document.head.appendChild(script);
  });
  return LOADS[src];
}

// A template from the Streamlit theme's CSS variables, so light and dark both read well.
// The same object while the theme stays: plotly.js then sees an unchanged template.
let templateCache = { key: null, template: null };
function themeTemplate(el) {
  const css = getComputedStyle(el);
  const v = (name) => css.getPropertyValue(name).trim();
  const text = v("--st-text-color") || "#31333f";
  const grid = v("--st-border-color-light") || "rgba(128,128,128,0.25)";
  const font = v("--st-font");
  const palette = v("--st-chart-categorical-colors");
  const key = [text, grid, font, palette].join("|");
  if (templateCache.key === key) return templateCache.template;
  const colors = palette.split(",").map((c) => c.trim()).filter(Boolean);
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  const layout = {
    font: { color: text, family: font || undefined },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    margin: { l: 48, r: 16, t: 40, b: 40 },
    xaxis: axis,
    yaxis: axis,
    legend: { bgcolor: "rgba(0,0,0,0)" },
  };
  if (colors.length) layout.colorway = colors;
  templateCache = { key, template: { layout } };
  return templateCache.template;
}

// "dark" or "light": the page's background, by its luminance. Streamlit's theme sets
// --st-background-color; a custom theme may set any colour, so judge by brightness.
function pageTheme(el) {
  const bg = getComputedStyle(el).getPropertyValue("--st-background-color").trim()
    || getComputedStyle(document.body).backgroundColor;
  const rgb = parseColor(bg);
  if (!rgb) return "light";
  const [r, g, b] = rgb.map((v) => {
    v /= 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.18 ? "dark" : "light";
}

function parseColor(c) {
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(c);
  if (m) return m.slice(1, 4).map((h) => parseInt(h, 16));
  m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(c);
  return m ? m.slice(1, 4).map(Number) : null;
}

// Tell Python which theme the page shows when the figures were built for the other one
// (the first load, a switch in the settings menu). Once per change: a rerun follows.
function reportTheme(board) {
  const s = board._live;
  if (!s.builtFor || !s.setState) return;
  const shown = pageTheme(board);
  if (shown !== s.builtFor && shown !== s.themeSent) {
    s.themeSent = shown;
    s.setState("theme", shown);
  }
}

// WebGL traces (many points) where the browser has WebGL, SVG ones where it has not.
let webgl = null;
function withoutWebGL(traces) {
  webgl ??= (() => {
    try { return !!document.createElement("canvas").getContext("webgl"); } catch (e) { return false; }
  })();
  return webgl ? traces : traces.map((t) => (t.type === "scattergl" ? { ...t, type: "scatter" } : t));
}

// Charts not on screen are redrawn at most this often (ms): a projector shows the top of the
// page; a full-page screenshot or a scroll still finds every chart drawn and recent.
const HIDDEN_MS = 1000;

// Draw one queued chart per animation frame, always its newest figure: the page stays
// responsive between charts (a Pause click is handled at once), and figures that arrive
// faster than the browser draws are skipped rather than queued. When the browser cannot
// draw everything, each chart gets a share of the draws in proportion to its weight
// (stride scheduling): the charts a student watches keep up, and the costly panels are
// drawn as often as the cheap ones, not less (shares of drawing time, the rule before
// 4 December, left the gradient history and dscores at 3.6 and 2.3 draws a second beside
// 5 for the others, all on screen in software-rendered Chromium).
// A chart off screen waits.
function schedule(board) {
  const s = board._live;
  if (!s.frame) s.frame = requestAnimationFrame(() => drawNext(board));
}

// A press or a key holds the drawing for a moment, so what answers it (a click's rerun,
// the heading it brings) is not queued behind a chart being drawn: Pause feels immediate.
const INPUT_HOLD_MS = 300;
if (!window.__plotlyLiveInput) {
  window.__plotlyLiveInput = { until: 0 };
  const hold = () => { window.__plotlyLiveInput.until = performance.now() + INPUT_HOLD_MS; };
  document.addEventListener("pointerdown", hold, true);
  document.addEventListener("keydown", hold, true);
}

function drawNext(board) {
  const s = board._live;
  s.frame = 0;
  if (!board.isConnected) return;
  const now = performance.now();
  const held = window.__plotlyLiveInput.until - now;
  if (held > 0) {
    clearTimeout(s.held);
    s.held = setTimeout(() => schedule(board), held);
    return;
  }
  let next = null;
  for (const [key, job] of s.queue) {
    const div = job.div;
    if (!div.isConnected) { s.queue.delete(key); continue; }
    if (!div._plotlyLiveVisible && div._plotlyLiveDrawnAt && now - div._plotlyLiveDrawnAt < HIDDEN_MS) continue;
    if (!next || div._plotlyLivePass < next.div._plotlyLivePass) next = job;
  }
  if (next) {
    s.queue.delete(next.chart.key);
    s.drawing = next.chart.key;  // (until its Plotly.react is done: tests read it)
    draw(board, next).finally(() => {
      s.drawing = null;
      if (s.queue.size) schedule(board);
    });
  } else if (s.queue.size && !s.wake) {  // only hidden charts wait: look again when one is due
    s.wake = setTimeout(() => { s.wake = 0; schedule(board); }, HIDDEN_MS);
  }
}

function draw(board, job) {
  const { div, chart, msg } = job;
  return loadPlotly(msg.src)
    .then((Plotly) => {
      if (!div.isConnected) return;
      // uirevision keeps a student's zoom and legend clicks across refreshes.
      const layout = { uirevision: chart.key, ...(chart.figure.layout || {}), autosize: true, height: job.height };
      delete layout.width;
      if (msg.theme === "streamlit") layout.template = themeTemplate(board);
      // (new trace objects: what plotly.js adds to its input stays out of the figures the stream's deltas edit)
      const data = withoutWebGL(chart.figure.data || []).map((t) => ({ ...t }));
      return Plotly.react(div, data, layout, msg.config).then(() => {
        div._plotlyLiveDrawnAt = performance.now();
        div._plotlyLivePass += 1 / chart.weight;
        if (div._plotlyLiveReady) return;
        div._plotlyLiveReady = true;
        div.on("plotly_click", (ev) => {
          const p = ev.points && ev.points[0];
          if (!p) return;
          board._live.setState("click", {
            chart: chart.key,
            curve: p.curveNumber,
            index: p.pointIndex ?? p.pointNumber ?? null,
            x: p.x ?? null,
            y: p.y ?? null,
            // a row of a typed array would reach Python as {"0": ..}: send a plain list
            customdata: ArrayBuffer.isView(p.customdata) ? Array.from(p.customdata) : (p.customdata ?? null),
            at: plotAt(div, ev.event),  // where the pointer was, in the plot's own units (a new point goes there)
            time: Date.now(),  // tells a new click from the last one, even on the same point
          });
        });
        let frame = 0;
        div._plotlyLiveResize = new ResizeObserver(() => {
          cancelAnimationFrame(frame);
          frame = requestAnimationFrame(() => div.isConnected && Plotly.Plots.resize(div));
        });
        div._plotlyLiveResize.observe(div);
      });
    })
    .catch((err) => {
      div.textContent = `plotly_live: ${err}`;
      console.error(err);
    });
}

// Where a click fell, as [x, y] in the units of the chart's first axes (not the clicked point's: the
// pointer's), or null when those axes are not plain numbers. plotly.js has no public call for it:
// each axis converts a pixel offset from its own start (`_offset`) with `p2d`.
function plotAt(div, event) {
  const full = div._fullLayout;
  const xa = full && full.xaxis, ya = full && full.yaxis;
  if (!event || !xa || !ya || xa.type !== "linear" || ya.type !== "linear" || !xa.p2d || !ya.p2d) return null;
  const box = div.getBoundingClientRect();
  const x = xa.p2d(event.clientX - box.left - xa._offset);
  const y = ya.p2d(event.clientY - box.top - ya._offset);
  return Number.isFinite(x) && Number.isFinite(y) ? [x, y] : null;
}

// Charts with a `fit` height (the first row: what a student watches while it trains) are made
// no taller than the first screen leaves below the board's top, and no shorter than `fit`: on
// a 1280x720 projector the loss and the decision regions then show whole without scrolling.
// The room is measured in the page, whatever the scroll, and again when the window resizes.
function room(board) {
  let scrolled = window.scrollY;
  for (let e = board.parentElement; e; e = e.parentElement) scrolled += e.scrollTop;
  return Math.floor(window.innerHeight - (board.getBoundingClientRect().top + scrolled) - 12);
}

function chartHeight(board, chart) {
  return chart.fit ? Math.max(chart.fit, Math.min(chart.height, board._live.room)) : chart.height;
}

export default function ({ data, parentElement, setStateValue, setTriggerValue }) {
  const msg = JSON.parse(new TextDecoder().decode(data));
  let board = parentElement.querySelector(":scope > .plotly-board");
  if (!board) {
    board = document.createElement("div");
    board.className = "plotly-board";
    parentElement.appendChild(board);
    board._live = { queue: new Map(), frame: 0, wake: 0 };
    board._live.seen = new IntersectionObserver((entries) => {
      for (const e of entries) e.target._plotlyLiveVisible = e.isIntersecting;
      schedule(board);
      reportVisible(board);
    });
  }
  const s = board._live;
  s.setState = setStateValue;
  s.setTrigger = setTriggerValue;
  s.msg = msg;
  s.room = room(board);  // what is above the board may have grown (a notice): measure each time
  if (!s.onResize) {
    s.onResize = () => {
      s.room = room(board);
      for (const div of board.children) {
        const job = s.last?.get(div.dataset.key);
        if (job && job.chart.fit) {
          job.height = chartHeight(board, job.chart);
          div.style.height = `${job.height}px`;
          s.queue.set(job.chart.key, job);
        }
      }
      schedule(board);
    };
    window.addEventListener("resize", s.onResize);
  }
  if (msg.built_for !== s.builtFor) s.themeSent = null;  // a new answer: report again if it is still wrong
  s.builtFor = msg.built_for || null;
  reportTheme(board);
  // a theme switched while nothing redraws (paused): look once a second, it costs nothing
  s.themeTimer ??= setInterval(() => board.isConnected && reportTheme(board), 1000);
  place(board, msg, msg.charts);
  follow(board, msg.stream);

  // Streamlit may also call this when a newer figure overtakes a pending call, with the
  // board still on the page; so purge only once it has really left the document.
  return () => setTimeout(() => {
    if (board.isConnected) return;
    for (const div of [...board.children]) forget(board, div);
    s.seen.disconnect();
    clearTimeout(s.wake);
    clearTimeout(s.held);
    clearInterval(s.themeTimer);
    window.removeEventListener("resize", s.onResize);
    cancelAnimationFrame(s.frame);
    clearTimeout(s.stopTimer);
    clearTimeout(s.visibleTimer);
    closeStream(board);
    board._status?.remove();
  }, 0);
}

// Queue the newest figure of each chart, making (and ordering) a div per chart; the divs of charts
// no longer sent go. `msg` carries what drawing needs besides the figures (src, theme, config).
function place(board, msg, charts) {
  const s = board._live;
  const keys = new Set(charts.map((c) => c.key));
  for (const div of [...board.children]) {
    if (!keys.has(div.dataset.key)) forget(board, div);
  }
  charts.forEach((chart, i) => {
    let div = [...board.children].find((d) => d.dataset.key === chart.key);
    if (!div) {
      div = document.createElement("div");
      div.className = "plotly-live";
      div.dataset.key = chart.key;
      // a new chart starts level with the others' drawing time, first in line
      const passes = [...board.children].map((d) => d._plotlyLivePass);
      div._plotlyLivePass = passes.length ? Math.min(...passes) : 0;
      s.seen.observe(div);
    }
    if (board.children[i] !== div) board.insertBefore(div, board.children[i] ?? null);
    div.style.gridColumn = `span ${chart.span}`;
    enqueue(board, msg, chart, div);
  });
  schedule(board);
}

// Queue a chart's newest figure in its div (its height may change with it).
function enqueue(board, msg, chart, div) {
  const s = board._live;
  const height = chartHeight(board, chart);
  div.style.height = `${height}px`;
  div._plotlyLiveSeq = (div._plotlyLiveSeq || 0) + 1;  // figures received (benchmarks read it)
  const job = { div, chart, msg, height };
  s.queue.set(chart.key, job);
  (s.last ??= new Map()).set(chart.key, job);
}

// Queue the charts a delta frame changed; the others stay as they are drawn.
function redraw(board, msg, charts) {
  for (const chart of charts) {
    const div = [...board.children].find((d) => d.dataset.key === chart.key);
    if (div) enqueue(board, msg, chart, div);
  }
  schedule(board);
}

// -- the live stream ------------------------------------------------------------------------------

// Tell Python something once per change (setting a state value reruns the page's fragment).
function report(board, key, value) {
  const s = board._live;
  s.reported ??= {};
  if (s.reported[key] === value || !s.setState) return;
  s.reported[key] = value;
  s.setState(key, value);
}

// While it follows a stream, the board tells Python which charts it has on screen (their keys,
// comma-separated: its `visible` state): the server then builds the others only as often as the board
// draws a chart off screen. After a scroll settles, once per change (each is a fragment run).
const VISIBLE_REPORT_MS = 500;
function reportVisible(board) {
  const s = board._live;
  if (!s.ws) return;
  clearTimeout(s.visibleTimer);
  s.visibleTimer = setTimeout(() => {
    if (!board.isConnected || !s.ws) return;
    const keys = [...board.children].filter((d) => d._plotlyLiveVisible).map((d) => d.dataset.key);
    report(board, "visible", keys.join(","));
  }, VISIBLE_REPORT_MS);
}

// The page's rerun (Pause) usually arrives before this; if not, the board asks for it.
const STOP_GRACE_MS = 250;

function follow(board, stream) {
  const s = board._live;
  showStatus(board, stream && stream.status);
  if (!stream || !stream.live || !stream.url || !stream.token) {
    closeStream(board);
    clearTimeout(s.stopTimer);  // the page has redrawn already: no need to ask it to
    return;
  }
  if (s.ws && s.wsToken === stream.token) return;  // following it already
  if (s.failedToken === stream.token) return;  // it failed once: the page's timer redraws instead
  closeStream(board);
  openStream(board, stream);
}

function openStream(board, stream) {
  const s = board._live;
  const url = new URL(stream.url, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = `?token=${encodeURIComponent(stream.token)}`;
  let ws;
  try {
    ws = new WebSocket(url.href);
  } catch (err) {
    s.failedToken = stream.token;
    console.error(err);
    return;
  }
  s.ws = ws;
  s.wsToken = stream.token;
  s.streamCharts = null;  // a new stream starts with a full frame
  let frames = 0, stopped = false;
  ws.onmessage = (ev) => {
    if (s.ws !== ws || !board.isConnected) return;
    let f;
    try { f = JSON.parse(ev.data); } catch (err) { return; }
    if (f.type === "frame" && Array.isArray(f.charts)) {
      board._streamSeq = f.seq;  // frames received (tests and benchmarks read it)
      s.streamCharts = new Map(f.charts.map((c) => [c.key, c]));  // what the deltas after it change
      if (f.status && s.statusShown) showStatus(board, f.status);
      place(board, s.msg, f.charts);
      if (frames++ === 0) {
        report(board, "stream", stream.token);
        reportVisible(board);
      }
    } else if (f.type === "delta" && Array.isArray(f.charts) && s.streamCharts) {
      board._streamSeq = f.seq;
      if (f.status && s.statusShown) showStatus(board, f.status);
      const changed = [];
      for (const patch of f.charts) {
        const chart = s.streamCharts.get(patch.key);
        if (!chart) continue;
        const next = { ...chart, figure: applyOps(chart.figure, patch.ops) };
        s.streamCharts.set(patch.key, next);
        changed.push(next);
      }
      redraw(board, s.msg, changed);
    } else if (f.type === "stopped") {
      stopped = true;
      clearTimeout(s.stopTimer);
      s.stopTimer = setTimeout(() => board.isConnected && s.setTrigger?.("stopped", f.seq ?? 0), STOP_GRACE_MS);
    }
  };
  ws.onclose = () => {
    if (s.ws !== ws) return;
    s.ws = null;
    s.wsToken = null;
    if (!stopped) {  // refused, or lost: the page goes back to its timer
      s.failedToken = stream.token;
      report(board, "stream", null);
    }
  };
}

// A delta frame's edits of one figure (ui/delta.py): [path, value] sets, [path] deletes, [path, keep, text]
// keeps a string's first `keep` characters and appends `text` (an array's base64 with points appended).
// The objects on each edit's path are copied, the rest shared: Plotly.react sees new objects where
// something changed. What plotly.js adds to its input (keys starting with "_") is left out of the copies.
// testing/frames.py does the same in Python.
function applyOps(fig, ops) {
  if (!ops || !ops.length) return fig;
  const fresh = new Set();
  const copy = (node) => {
    const out = Array.isArray(node) ? node.slice() : {};
    if (!Array.isArray(node)) for (const k of Object.keys(node)) if (k[0] !== "_") out[k] = node[k];
    fresh.add(out);
    return out;
  };
  const root = copy(fig);
  for (const op of ops) {
    const path = op[0];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      let child = node[path[i]];
      if (!fresh.has(child)) node[path[i]] = child = copy(child);
      node = child;
    }
    const last = path[path.length - 1];
    if (op.length === 1) delete node[last];
    else if (op.length === 2) node[last] = op[1];
    else node[last] = node[last].slice(0, op[1]) + op[2];
  }
  return root;
}

function closeStream(board) {
  const s = board._live;
  const ws = s.ws;
  s.ws = null;
  s.wsToken = null;
  if (ws) ws.close();
}

// The status line as the page prints it (`### Iteration N`, the loss and accuracy, the progress), in
// a block above the board while the page lets the stream show it; gone otherwise. Text only.
function showStatus(board, status) {
  const s = board._live;
  if (!status || !status.text) {
    s.statusShown = false;
    board._status?.remove();
    board._status = null;
    return;
  }
  s.statusShown = true;
  let el = board._status;
  if (!el || !el.isConnected) {
    el = board._status = document.createElement("div");
    el.className = "plotly-board-status";
    el.innerHTML = '<div class="heading"><h3></h3></div><p class="loss">loss <strong></strong> = data '
      + '<span class="data"></span> + reg <span class="reg"></span> · accuracy <strong></strong></p>'
      + '<div class="progress" role="progressbar" aria-valuemin="0"><div class="bar"></div></div>'
      + '<p class="progress-text"></p>';
    board.parentElement.insertBefore(el, board);
  }
  const t = status.text;
  el.querySelector("h3").textContent = t.heading;
  const strong = el.querySelectorAll(".loss strong");
  strong[0].textContent = t.loss;
  strong[1].textContent = t.accuracy;
  el.querySelector(".data").textContent = t.data;
  el.querySelector(".reg").textContent = t.reg;
  const bar = el.querySelector(".progress");
  const share = status.iterations ? Math.min(status.iteration / status.iterations, 1) : 0;
  bar.setAttribute("aria-valuemax", String(status.iterations));
  bar.setAttribute("aria-valuenow", String(status.iteration));
  bar.firstChild.style.width = `${(100 * share).toFixed(2)}%`;
  el.querySelector(".progress-text").textContent = t.progress;
}

function forget(board, div) {
  board._live.queue.delete(div.dataset.key);
  board._live.last?.delete(div.dataset.key);
  board._live.seen.unobserve(div);
  div._plotlyLiveResize?.disconnect();
  window.Plotly?.purge(div);
  div.remove();
}
