// The embedding map: every point of a collection on a canvas, coloured by class.
// Hover shows the point's thumbnail, a click opens its neighbours, a dragged box lists its images and links
// to more (or less) like them.
// Positions arrive as integer arrays (x, y, class index); a coarse grid of cells finds the point
// under the pointer without scanning all of them, so 20,000 points stay responsive.
(() => {
  const canvas = document.getElementById("map");
  if (!canvas) return;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1"];
  const PAD = 12, CELL = 16, RADIUS = 6, SHOWN = 200, EXAMPLES = 64;
  const base = canvas.dataset.base;
  const tip = document.getElementById("map-tip");
  const selection = document.getElementById("selection");
  const context = canvas.getContext("2d");
  let data = null, px = null, py = null, byClass = [], cells = null, columns = 0, drag = null;

  const colour = (c) => PALETTE[c % PALETTE.length];
  const named = (i) => data.classes[data.c[i]] ?? "";  // no classes where the collection has no labels

  function place() {
    const n = data.ids.length, scale = (Math.min(canvas.width, canvas.height) - 2 * PAD) / 10000;
    let maxX = 0, maxY = 0;
    for (let i = 0; i < n; i++) { maxX = Math.max(maxX, data.x[i]); maxY = Math.max(maxY, data.y[i]); }
    const left = PAD + (canvas.width - 2 * PAD - maxX * scale) / 2;  // centred on the shorter axis
    const bottom = canvas.height - PAD - (canvas.height - 2 * PAD - maxY * scale) / 2;
    px = new Float32Array(n); py = new Float32Array(n);
    byClass = Array.from(data.c.keys()).sort((a, b) => data.c[a] - data.c[b] || a - b);
    columns = Math.ceil(canvas.width / CELL);
    cells = new Map();
    for (let i = 0; i < n; i++) {
      px[i] = left + data.x[i] * scale;
      py[i] = bottom - data.y[i] * scale;
      const key = Math.floor(py[i] / CELL) * columns + Math.floor(px[i] / CELL);
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(i);
    }
  }

  function draw(box) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    const size = data.ids.length > 5000 ? 2 : 4;
    let current = -1;
    for (const i of byClass) {  // in class order: one fill style change per class
      if (data.c[i] !== current) { current = data.c[i]; context.fillStyle = colour(current); }
      context.fillRect(px[i] - size / 2, py[i] - size / 2, size, size);
    }
    if (box) {
      context.strokeStyle = "#000";
      context.setLineDash([4, 3]);
      context.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      context.setLineDash([]);
    }
  }

  function nearest(x, y) {
    let best = -1, bestDistance = RADIUS * RADIUS;
    const cx = Math.floor(x / CELL), cy = Math.floor(y / CELL);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      for (const i of cells.get((cy + dy) * columns + cx + dx) || []) {
        const d = (px[i] - x) ** 2 + (py[i] - y) ** 2;
        if (d < bestDistance) { best = i; bestDistance = d; }
      }
    }
    return best;
  }

  function position(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width, (event.clientY - rect.top) * canvas.height / rect.height];
  }

  function showTip(i, event) {
    if (i < 0) { tip.hidden = true; canvas.style.cursor = "crosshair"; return; }
    canvas.style.cursor = "pointer";
    const image = tip.querySelector("img");
    const wanted = base + "/thumb/" + data.ids[i];
    if (image.getAttribute("src") !== wanted) image.setAttribute("src", wanted);
    tip.querySelector("div").textContent = named(i);
    tip.dataset.id = data.ids[i];
    tip.style.left = (event.pageX + 14) + "px";
    tip.style.top = (event.pageY + 14) + "px";
    tip.hidden = false;
  }

  function select(box) {
    const chosen = [];
    for (let i = 0; i < px.length; i++) {
      if (px[i] >= box.x0 && px[i] <= box.x1 && py[i] >= box.y0 && py[i] <= box.y1) chosen.push(i);
    }
    const grid = selection.querySelector(".grid");
    grid.replaceChildren();
    selection.querySelector("h2").textContent = chosen.length + " points selected" + (chosen.length > SHOWN ? ", the first " + SHOWN + " shown" : "");
    for (const i of chosen.slice(0, SHOWN)) {
      const figure = document.createElement("figure");
      figure.className = "tile neutral";
      figure.dataset.label = named(i);
      const link = document.createElement("a");
      link.href = base + "/p/" + data.ids[i];
      const image = document.createElement("img");
      image.loading = "lazy"; image.width = 160; image.height = 160;
      image.src = base + "/thumb/" + data.ids[i];
      image.alt = named(i);
      const caption = document.createElement("figcaption");
      caption.textContent = named(i);
      link.append(image); figure.append(link, caption); grid.append(figure);
    }
    const asked = chosen.slice(0, EXAMPLES).map((i) => "pick=" + encodeURIComponent(data.ids[i])).join("&");
    selection.querySelector("#more-like").href = base + "/like?side=like&" + asked;
    selection.querySelector("#less-like").href = base + "/like?side=unlike&" + asked;
    selection.querySelector("#selection-actions span").textContent =
      chosen.length > EXAMPLES ? "(the first " + EXAMPLES + " as examples)" : "";
    selection.hidden = false;
  }

  canvas.addEventListener("mousedown", (event) => { const [x, y] = position(event); drag = { x, y, moved: false }; });
  canvas.addEventListener("mousemove", (event) => {
    if (!data) return;
    const [x, y] = position(event);
    if (drag && (Math.abs(x - drag.x) > 4 || Math.abs(y - drag.y) > 4)) {
      drag.moved = true;
      tip.hidden = true;
      draw({ x0: Math.min(x, drag.x), y0: Math.min(y, drag.y), x1: Math.max(x, drag.x), y1: Math.max(y, drag.y) });
      return;
    }
    showTip(nearest(x, y), event);
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("mouseup", (event) => {
    if (!data || !drag) return;
    const [x, y] = position(event);
    const started = drag;
    drag = null;
    if (started.moved) {
      const box = { x0: Math.min(x, started.x), y0: Math.min(y, started.y), x1: Math.max(x, started.x), y1: Math.max(y, started.y) };
      draw(box);
      select(box);
      return;
    }
    const i = nearest(x, y);
    if (i >= 0) window.location.href = base + "/p/" + data.ids[i];
  });

  function legend() {
    const list = document.getElementById("map-legend");
    list.replaceChildren();
    const counts = new Array(data.classes.length).fill(0);
    for (const c of data.c) counts[c]++;
    data.classes.forEach((label, c) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.style.background = colour(c);
      item.append(swatch, label + " (" + counts[c] + ")");
      list.append(item);
    });
  }

  // The first answer comes at once: UMAP when it is cached, else a PCA preview with `pending` set while UMAP is
  // computed on the server; the page asks again every POLL ms and swaps to the new layout when it arrives. A 503
  // (serve lets the collection go to a command waiting for it, for a moment) keeps what is drawn and asks again
  // after the answer's Retry-After.
  const POLL = 2000;
  function busy(response) {
    const seconds = Number(response.headers.get("Retry-After"));
    const note = document.getElementById("map-method");
    const waiting = "another process uses the collection; asking again in a moment";
    note.textContent = data ? note.textContent.split(" · busy: ")[0] + " · busy: " + waiting : "Busy: " + waiting;
    canvas.dataset.busy = "true";
    setTimeout(load, seconds > 0 ? seconds * 1000 : POLL);
  }
  function load() {
    fetch(canvas.dataset.json).then((response) => {
      if (response.status === 503) return busy(response);
      if (!response.ok) throw new Error("the layout could not be computed (HTTP " + response.status + ")");
      return response.json();
    }).then((layout) => {
      if (!layout) return;
      if (!data || layout.method !== data.method || layout.key !== data.key) {
        data = layout;
        place();
        draw();
        legend();
      }
      const note = document.getElementById("map-method");
      note.textContent = layout.ids.length + " points · " + layout.note +
        (layout.method === "umap" && layout.seconds ? " · computed in " + layout.seconds.toFixed(1) + " s, kept until the collection changes" : "");
      canvas.dataset.busy = "false";
      canvas.dataset.method = layout.method;
      canvas.dataset.pending = String(layout.pending);
      canvas.dataset.drawn = String(layout.ids.length);
      if (layout.pending) setTimeout(load, POLL);
    }).catch((error) => {
      const note = document.getElementById("map-method");
      note.textContent = String(error.message || error);
      note.className = "error";
    });
  }
  load();
})();
