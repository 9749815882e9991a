// gapsim teaching page: sliders choose a precomputed run, play steps through its frames.
// Nothing is computed here: points, curves and the printed numbers come from the engine
// (gapsim/demos/page_data.py); this script only swaps them into the plotly figure.
"use strict";
const FRAME_MS = 150;
window.gapsimErrors = window.gapsimErrors || [];
window.addEventListener("error", (e) => window.gapsimErrors.push(String(e.message)));

function gapsimChapter(section) {
  let data = null; // parsed on first render
  const plot = section.querySelector(".plot");
  let T = null;
  const axes = Array.from(section.querySelectorAll("input[data-axis]"));
  const frameInput = section.querySelector("input[data-frame]");
  const button = section.querySelector("button.play");
  const state = { run: -1, frame: 0, timer: null, playing: 0 };

  function runIndex() {
    let flat = 0;
    axes.forEach((input, i) => { flat = flat * data.sizes[i] + Number(input.value); });
    return flat;
  }

  function pairLines(X, Y) {
    const out = [[], [], []];
    for (let i = 0; i < X[0].length; i++) {
      for (let k = 0; k < 3; k++) out[k].push(X[k][i], Y[k][i], null);
    }
    return out;
  }

  function drawFrame() {
    const run = data.runs[state.run];
    const k = state.frame;
    const [X, Y] = run.z[k];
    const [mx, my] = run.m[k];
    const L = pairLines(X, Y);
    const nums = run.nums[k];
    section.querySelectorAll("[data-q]").forEach((el) => { el.textContent = nums[el.dataset.q]; });
    frameInput.value = String(k);
    return Promise.all([
      Plotly.restyle(plot, {
        x: [L[0], X[0], Y[0], [mx[0], 0, my[0]]],
        y: [L[1], X[1], Y[1], [mx[1], 0, my[1]]],
        z: [L[2], X[2], Y[2], [mx[2], 0, my[2]]],
      }, [T.pairs, T.x, T.y, T.means]),
      Plotly.restyle(plot, { x: [[run.t[k]]], y: [[run.cy[k]]] }, [T.cursor]),
    ]);
  }

  function drawRun() {
    const run = data.runs[state.run];
    const n = run.series.length;
    const xs = [], ys = [], idx = [];
    for (let s = 0; s < 2; s++) {
      xs.push(s < n ? run.series[s][0] : []);
      ys.push(s < n ? run.series[s][1] : []);
      idx.push(T.series + s);
    }
    Plotly.restyle(plot, { x: xs.concat([run.marks[0]]), y: ys.concat([run.marks[1]]) },
      idx.concat([T.marks]));
    Plotly.restyle(plot, { x: [run.planes[0]], y: [run.planes[1]], z: [run.planes[2]] },
      [T.planes]);
    section.querySelector("[data-summary]").textContent = run.summary;
    frameInput.max = String(run.t.length - 1);
  }

  function select() {
    stop();
    axes.forEach((input, i) => {
      section.querySelector(`[data-axis-text="${i}"]`).textContent =
        data.texts[i][Number(input.value)];
    });
    state.run = runIndex();
    drawRun();
    state.frame = data.runs[state.run].t.length - 1; // a new setting shows its outcome
    drawFrame();
  }

  function stop() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    state.playing += 1; // a frame still being drawn schedules no successor
    button.textContent = "▶ play";
  }

  // the next frame is scheduled once the last one is drawn: a slow renderer plays slower
  // instead of queueing frames (and clicks wait for no backlog)
  function tick(playing) {
    if (playing !== state.playing) return;
    if (state.frame >= data.runs[state.run].t.length - 1) { stop(); return; }
    state.frame += 1;
    drawFrame().then(() => {
      if (playing === state.playing) state.timer = setTimeout(tick, FRAME_MS, playing);
    });
  }

  function play() {
    if (state.timer !== null) { stop(); return; }
    const last = data.runs[state.run].t.length - 1;
    if (state.frame >= last) { state.frame = 0; drawFrame(); }
    button.textContent = "❚❚ pause";
    state.playing += 1;
    state.timer = setTimeout(tick, FRAME_MS, state.playing);
  }

  axes.forEach((input) => input.addEventListener("input", select));
  frameInput.addEventListener("input", () => {
    stop();
    state.frame = Number(frameInput.value);
    drawFrame();
  });
  button.addEventListener("click", play);
  const config = { responsive: true, displaylogo: false, scrollZoom: false };
  let rendered = null;
  // drawn on first approach to the viewport: one WebGL scene at start, not one per chapter
  return function render() {
    if (rendered === null) {
      data = JSON.parse(section.querySelector(".chapter-data").textContent);
      const fig = JSON.parse(section.querySelector(".chapter-figure").textContent);
      T = data.traces;
      rendered = Plotly.newPlot(plot, fig.data, fig.layout, config).then(() => {
        select();
        section.dataset.ready = String(performance.now());
      });
    }
    return rendered;
  };
}

const gapsimSections = Array.from(document.querySelectorAll("section[data-chapter]"));
const gapsimRenders = gapsimSections.map(gapsimChapter);
window.gapsimRenderAll = () => Promise.all(gapsimRenders.map((r) => r()));
const gapsimObserver = new IntersectionObserver((entries) => {
  entries.forEach((e) => {
    if (!e.isIntersecting) return;
    const i = gapsimSections.indexOf(e.target);
    gapsimObserver.unobserve(e.target);
    gapsimRenders[i]().then(() => {
      // navigation start to the first plot drawn: the time the page takes to open
      if (window.gapsimReady === undefined) window.gapsimReady = performance.now();
    }).catch((err) => window.gapsimErrors.push(String(err)));
  });
}, { rootMargin: "300px 0px" });
gapsimSections.forEach((s) => gapsimObserver.observe(s));
