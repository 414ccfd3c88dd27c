// conceptree explanations: per track its log-mel spectrogram, a heat map of concept activations
// grouped by the hierarchy, the summary as sentences and playback with a moving cursor, all drawn
// from EXPLAIN_DATA (written by `conceptree explain --html`) with d3.
"use strict";

(function () {
  const data = EXPLAIN_DATA;
  const concepts = data.concepts;
  const formatScore = d3.format(".2f");
  const scoreName = data.calibrated ? "score" : "mean activation";
  // When nothing is present, the rows shown by default are the best-scoring concepts (and their ancestors).
  const fallbackRows = 10;
  const cssPixels = (name) => parseFloat(getComputedStyle(document.documentElement).getPropertyValue(name));
  const rowHeight = cssPixels("--row-height");
  const labelWidth = cssPixels("--label-width");
  const spectrogramHeight = 120;

  // ---------------------------------------------------------------- structure
  const parents = concepts.map(() => []);
  const children = concepts.map(() => []);
  for (const [parent, child] of data.links) {
    parents[child].push(parent);
    children[parent].push(child);
  }
  // Rows start at the concepts without a parent, then at one concept of each cycle no such concept
  // reaches; without a hierarchy every concept is a root.
  const roots = [];
  {
    const reached = new Set();
    const reach = (start) => {
      const queue = [start];
      reached.add(start);
      for (let next = 0; next < queue.length; ++next) {
        for (const child of children[queue[next]]) {
          if (!reached.has(child)) {
            reached.add(child);
            queue.push(child);
          }
        }
      }
    };
    concepts.forEach((c, i) => { if (parents[i].length === 0) roots.push(i); });
    roots.forEach(reach);
    concepts.forEach((c, i) => {
      if (!reached.has(i)) {
        roots.push(i);
        reach(i);
      }
    });
  }

  function ancestorsOf(concept, into) {
    const stack = [concept];
    while (stack.length) {
      for (const parent of parents[stack.pop()]) {
        if (!into.has(parent)) {
          into.add(parent);
          stack.push(parent);
        }
      }
    }
    return into;
  }

  // ---------------------------------------------------------------- colours and time
  const lookup = (interpolate) => d3.range(256).map((v) => d3.rgb(interpolate(v / 255)));
  const heatColours = lookup(d3.interpolateBlues);
  const spectrogramColours = lookup(d3.interpolateMagma);
  const presentColour = getComputedStyle(document.documentElement).getPropertyValue("--present").trim();

  function formatTime(seconds) {
    const total = Math.max(0, Math.round(seconds));
    const hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), rest = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function decodeBytes(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; ++i) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // An image of `width` x `height` pixels, one per value, for drawImage to stretch onto the page.
  function valueImage(width, height, colours, valueAt) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, width);
    canvas.height = Math.max(1, height);
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    for (let y = 0; y < height; ++y) {
      for (let x = 0; x < width; ++x) {
        const colour = colours[valueAt(x, y)], at = (y * width + x) * 4;
        image.data[at] = colour.r;
        image.data[at + 1] = colour.g;
        image.data[at + 2] = colour.b;
        image.data[at + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  // Sharp on high-density screens: the backing store has device pixels, drawing stays in CSS pixels.
  function sizeCanvas(canvas, width, height) {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return context;
  }

  // ---------------------------------------------------------------- state
  let track = null;       // the shown track's data, with its decoded images and the rows worth showing
  let showAll = false;    // every concept, or those present and their ancestors
  let policy = "relevant"; // which rows are open when not toggled: "relevant", "all" (each concept once) or "none"
  const toggled = new Map(); // row key ("3/17/42", the concept path from a root) -> open
  let rows = [];
  let x = null;           // seconds -> pixels of the plots
  let cursorSeconds = null;

  const audio = document.getElementById("audio");
  const heatScroll = document.getElementById("heat-scroll");
  const heatCanvas = document.getElementById("heat");
  const spectrogramCanvas = document.getElementById("spectrogram");

  function prepare(index) {
    const t = data.tracks[index];
    const activations = decodeBytes(t.activations);
    const present = new Set(t.present);
    let relevant = new Set(t.present);
    let fallback = false;
    if (relevant.size === 0) {
      fallback = true;
      relevant = new Set(d3.range(concepts.length).sort((a, b) => t.scores[b] - t.scores[a] || a - b).slice(0, fallbackRows));
    }
    for (const concept of [...relevant]) ancestorsOf(concept, relevant);
    const spectrogram = t.spectrogram && {
      ...t.spectrogram,
      image: (() => {
        const s = t.spectrogram, bytes = decodeBytes(s.data);
        return valueImage(s.columns, s.bands, spectrogramColours, (column, y) => bytes[column * s.bands + (s.bands - 1 - y)]);
      })(),
    };
    return {
      index, data: t, present, relevant, fallback, spectrogram,
      heat: valueImage(t.frames, concepts.length, heatColours, (frame, concept) => activations[concept * t.frames + frame]),
      activation: (concept, frame) => activations[concept * t.frames + frame] / 255,
      byScore: (a, b) => t.scores[b] - t.scores[a] || a - b,
    };
  }

  // ---------------------------------------------------------------- rows
  const shown = (concept) => showAll || track.relevant.has(concept);

  // Visible rows, depth first. A concept appears under each of its parents; a child already on the
  // row's own path is a cycle and is shown once more, marked, but never opened.
  function visibleRows() {
    const result = [];
    const opened = new Set();
    const stack = roots.filter(shown).sort(track.byScore).reverse().map((concept) => ({ concept, key: String(concept), depth: 0, path: new Set([concept]) }));
    while (stack.length) {
      const row = stack.pop();
      result.push(row);
      const kids = children[row.concept].filter(shown).sort(track.byScore);
      row.hasChildren = kids.length > 0 && !row.cycle;
      const open = toggled.has(row.key) ? toggled.get(row.key)
        : policy === "all" ? !opened.has(row.concept) : policy === "relevant" && track.relevant.has(row.concept);
      row.open = row.hasChildren && open;
      if (!row.open) continue;
      opened.add(row.concept);
      for (let k = kids.length - 1; k >= 0; --k) {
        const child = kids[k], cycle = row.path.has(child);
        stack.push({ concept: child, key: `${row.key}/${child}`, depth: row.depth + 1, cycle, path: cycle ? row.path : new Set(row.path).add(child) });
      }
    }
    return result;
  }

  function renderRows() {
    rows = visibleRows();
    const scores = track.data.scores;
    d3.select("#rows").selectAll("div.row").data(rows, (d) => d.key).join((enter) => {
      const row = enter.append("div").attr("class", "row").attr("role", "treeitem")
        .style("padding-left", (d) => `${0.2 + d.depth * 1.1}rem`);
      row.append("span").attr("class", "caret");
      row.append("span").attr("class", "mark");
      row.append("span").attr("class", "name");
      row.append("span").attr("class", "score");
      return row;
    })
      .classed("present", (d) => track.present.has(d.concept))
      .classed("cycle", (d) => !!d.cycle)
      .classed("has-children", (d) => d.hasChildren)
      .attr("data-concept", (d) => concepts[d.concept].id)
      .attr("aria-expanded", (d) => (d.hasChildren ? d.open : null))
      .call((row) => row.select(".caret").text((d) => (d.hasChildren ? (d.open ? "▾" : "▸") : "")))
      .call((row) => row.select(".name").text((d) => concepts[d.concept].label + (d.cycle ? " ↻" : ""))
        .attr("title", (d) => (d.cycle ? "already above on this path: the links form a cycle" : concepts[d.concept].id)))
      .call((row) => row.select(".score").text((d) => formatScore(scores[d.concept]))
        .attr("title", (d) => `${scoreName}${track.present.has(d.concept) ? ", present" : ""}`));
    const presentCount = track.present.size;
    d3.select("#timeline-hint").text(
      `${rows.length} rows · ${presentCount} of ${concepts.length} concepts present` +
      (track.fallback && !showAll ? ` · none present: the ${fallbackRows} best-scoring shown` : "") +
      (data.hierarchy ? " · grouped by the hierarchy" : " · best score first"));
  }

  function onRowClick(event) {
    const element = event.target.closest("div.row");
    if (!element) return;
    const row = d3.select(element).datum();
    if (!row.hasChildren) return;
    toggled.set(row.key, !row.open);
    renderRows();
    layoutHeat();
  }

  // ---------------------------------------------------------------- plots
  function layout() {
    const seconds = Math.max(track.data.seconds, 1e-3);
    const width = Math.max(200, heatScroll.clientWidth - labelWidth);
    x = d3.scaleLinear([0, seconds], [0, width]);
    drawSpectrogram(width);
    d3.select("#time-axis").attr("width", width).call((svg) => {
      svg.selectAll("*").remove();
      svg.append("g").call(d3.axisBottom(x).ticks(Math.max(2, width / 80)).tickFormat(formatTime));
    });
    layoutHeat();
  }

  function drawSpectrogram(width) {
    const spectrogram = track.spectrogram;
    d3.select(spectrogramCanvas).attr("hidden", spectrogram ? null : true);
    d3.select("#spectrogram-note").attr("hidden", spectrogram ? true : null)
      .text("No spectrogram: this track was explained from an embedding store, not from audio.");
    if (!spectrogram) return;
    const context = sizeCanvas(spectrogramCanvas, width, spectrogramHeight);
    context.imageSmoothingEnabled = true;
    context.drawImage(spectrogram.image, 0, 0, spectrogram.columns, spectrogram.bands, 0, 0, x(spectrogram.columns * spectrogram.seconds_per_column), spectrogramHeight);
  }

  // The canvas is as tall as the scrolled view and sticks to its top; each draw paints the rows in view.
  function layoutHeat() {
    heatCanvas.style.height = "0px";
    const height = Math.min(rows.length * rowHeight, heatScroll.clientHeight);
    sizeCanvas(heatCanvas, x.range()[1], height);
    drawHeat();
    placeCursor();
  }

  function drawHeat() {
    const context = heatCanvas.getContext("2d");
    const width = x.range()[1], height = parseFloat(heatCanvas.style.height);
    context.clearRect(0, 0, width, height);
    const t = track.data, top = heatScroll.scrollTop;
    const framesWidth = x(t.frames * t.frame_hop);
    context.imageSmoothingEnabled = false;
    context.lineWidth = 1.5;
    context.strokeStyle = presentColour;
    for (let r = Math.floor(top / rowHeight); r < rows.length; ++r) {
      const y = r * rowHeight - top;
      if (y >= height) break;
      const concept = rows[r].concept;
      context.drawImage(track.heat, 0, concept, t.frames, 1, 0, y, framesWidth, rowHeight - 1);
      if (!track.present.has(concept)) continue;
      for (const [column, start, end] of t.segments) {
        if (column === concept) context.strokeRect(x(start) + 0.75, y + 0.75, Math.max(1, x(end) - x(start) - 1.5), rowHeight - 2.5);
      }
    }
  }

  function placeCursor() {
    const cursor = d3.select("#cursor");
    cursor.attr("hidden", cursorSeconds === null ? true : null);
    if (cursorSeconds !== null) cursor.style("left", `${heatCanvas.offsetLeft + x(cursorSeconds)}px`);
  }

  function seek(seconds) {
    cursorSeconds = Math.max(0, Math.min(seconds, track.data.seconds));
    if (track.data.audio && Number.isFinite(cursorSeconds)) audio.currentTime = cursorSeconds;
    placeCursor();
  }

  const secondsAt = (event, canvas) => x.invert(event.clientX - canvas.getBoundingClientRect().left);

  function showTooltip(event) {
    const rect = heatCanvas.getBoundingClientRect();
    const row = rows[Math.floor((event.clientY - rect.top + heatScroll.scrollTop) / rowHeight)];
    const seconds = secondsAt(event, heatCanvas), frame = Math.floor(seconds / track.data.frame_hop);
    const tip = d3.select("#tooltip");
    if (!row || frame < 0 || frame >= track.data.frames) return void tip.attr("hidden", true);
    tip.attr("hidden", null).selectAll("*").remove();
    tip.append("b").text(concepts[row.concept].label);
    tip.append("div").text(`${formatTime(seconds)} · activation ${formatScore(track.activation(row.concept, frame))} · track ${scoreName} ${formatScore(track.data.scores[row.concept])}`);
    tip.style("left", `${event.pageX + 14}px`).style("top", `${event.pageY + 10}px`);
  }

  // ---------------------------------------------------------------- summary and audio
  // A summary entry as a sentence: "family: brass → trumpet, 0:03–0:09 (score 0.97)".
  const pathText = (entry) => entry.path.map((c) => concepts[c].label).join(" → ");
  const whereText = (entry) => `, ${formatTime(entry.start)}–${formatTime(entry.end)} (${scoreName} ${formatScore(entry.score)})`;

  function renderSummary() {
    d3.select("#summary-hint").text(data.hierarchy ? "the most specific concepts present, after their present ancestors" : "the concepts present, best first");
    const list = d3.select("#summary");
    list.selectAll("li").remove();
    if (track.data.summary.length === 0) return void list.append("li").attr("class", "none").text("No concept is present in this track.");
    list.selectAll("li").data(track.data.summary).join("li").attr("title", "move the cursor (and the playback) here")
      .call((li) => li.append("span").attr("class", "path").text(pathText))
      .call((li) => li.append("span").attr("class", "when").text(whereText))
      .on("click", (event, d) => seek(d.start));
  }

  function renderAudio() {
    const source = track.data.audio;
    audio.pause();
    d3.select(audio).attr("hidden", source ? null : true);
    // A path relative to the page's folder: each segment encoded, the slashes kept.
    if (source) audio.src = source.split("/").map(encodeURIComponent).join("/");
    else audio.removeAttribute("src");
    d3.select("#audio-note").attr("hidden", source ? true : null)
      .text(track.data.spectrogram ? "No audio file for this track." : "No audio: this track was explained from an embedding store.");
  }

  function followPlayback() {
    if (audio.paused) return;
    cursorSeconds = audio.currentTime;
    placeCursor();
    requestAnimationFrame(followPlayback);
  }

  // ---------------------------------------------------------------- tracks
  function selectTrack(index) {
    track = prepare(index);
    toggled.clear();
    cursorSeconds = null;
    heatScroll.scrollTop = 0;
    d3.select("#track").property("value", String(index));
    const t = track.data;
    d3.select("#about").text(`${t.id} · ${formatTime(t.seconds)} · ${t.frames} frames of ${formatScore(t.frame_hop)} s`);
    renderSummary();
    renderAudio();
    renderRows();
    layout();
  }

  function renderHeader() {
    d3.select("#version").text(data.tool_version);
    d3.select("#track").selectAll("option").data(data.tracks).join("option")
      .attr("value", (d, i) => String(i)).text((d) => `${d.id} (${d.present.length} present)`);
    const ramp = d3.range(0, 1.0001, 0.1).map((v) => d3.interpolateBlues(v)).join(", ");
    const legend = d3.select("#legend");
    legend.append("span").text("activation 0").append("span").attr("class", "ramp").style("background", `linear-gradient(to right, ${ramp})`);
    legend.select("span").append("span").text("1");
    legend.append("span").call((s) => s.append("span").attr("class", "swatch")).append("span").text("present in the track; its segments outlined");
    legend.append("span").text("click the plots to move the cursor (and the playback)");
    d3.select("#footer").text(`Written by ${data.tool_version} · ${concepts.length} concepts · ${data.tracks.length} tracks · ` +
      (data.calibrated ? "scores calibrated against each concept's held-out tracks" : "scores are raw mean activations (the concept set holds no calibration)"));
  }

  // ---------------------------------------------------------------- start
  function hashValue(name) {
    const match = location.hash.match(new RegExp(`^#${name}=(.*)$`));
    return match ? decodeURIComponent(match[1]) : null;
  }

  const click = (element) => element.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  const rowCount = () => d3.selectAll("#rows div.row").size();

  function runSelftest(trackId) {
    const index = data.tracks.findIndex((t) => t.id === trackId);
    if (index >= 0) selectTrack(index);
    const result = {
      tracks: data.tracks.length,
      selector_tracks: Array.from(document.querySelectorAll("#track option"), (option) => data.tracks[Number(option.value)].id),
      track: track.data.id,
      heat_rows: rowCount(),
      present_rows: d3.selectAll("#rows div.row.present").size(),
      row_labels: Array.from(document.querySelectorAll("#rows div.row .name"), (name) => name.textContent),
    };
    const opened = document.querySelector("#rows div.row.has-children[aria-expanded=true]");
    if (opened) {
      const key = d3.select(opened).datum().key;
      click(opened);
      result.rows_after_collapse = rowCount();
      click(d3.selectAll("#rows div.row").filter((d) => d.key === key).node());
      result.rows_after_expand = rowCount();
    }
    click(document.getElementById("show-all"));
    result.rows_all = rowCount();
    click(document.getElementById("show-all"));
    const rect = heatCanvas.getBoundingClientRect();
    heatCanvas.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: rect.left + rect.width / 2, clientY: rect.top + 2 }));
    const middle = heatCanvas.getContext("2d").getImageData(Math.floor(heatCanvas.width / 2), 0, 1, Math.min(heatCanvas.height, 4)).data;
    Object.assign(result, {
      cursor_seconds: cursorSeconds,
      seconds: track.data.seconds,
      heat_painted: middle.length > 0 && middle[3] === 255,
      summary: Array.from(document.querySelectorAll("#summary li"), (li) => li.textContent),
      spectrogram: !spectrogramCanvas.hidden && spectrogramCanvas.width > 1,
      audio: audio.hidden ? null : audio.getAttribute("src"),
      milliseconds: Math.round(performance.now()),
      errors: window.pageErrors,
    });
    d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify(result));
  }

  function start() {
    renderHeader();
    if (data.tracks.length === 0) {
      d3.select(".layout").append("p").attr("class", "note").text("No track on this page.");
      return;
    }
    d3.select("#track").on("change", (event) => selectTrack(Number(event.target.value)));
    d3.select("#rows").on("click", onRowClick);
    d3.select("#show-all").on("click", (event) => {
      showAll = !showAll;
      d3.select(event.currentTarget).classed("active", showAll).attr("aria-pressed", showAll);
      renderRows();
      layoutHeat();
    });
    for (const [button, opening] of [["#expand-all", "all"], ["#collapse-all", "none"]]) {
      d3.select(button).on("click", () => {
        policy = opening;
        toggled.clear();
        renderRows();
        layoutHeat();
      });
    }
    let drawing = false;
    heatScroll.addEventListener("scroll", () => {
      if (drawing) return;
      drawing = true;
      requestAnimationFrame(() => { drawing = false; drawHeat(); });
    });
    for (const canvas of [heatCanvas, spectrogramCanvas]) canvas.addEventListener("click", (event) => seek(secondsAt(event, canvas)));
    heatCanvas.addEventListener("pointermove", showTooltip);
    heatCanvas.addEventListener("pointerleave", () => d3.select("#tooltip").attr("hidden", true));
    audio.addEventListener("play", followPlayback);
    for (const name of ["seeked", "timeupdate"]) audio.addEventListener(name, () => { cursorSeconds = audio.currentTime; placeCursor(); });
    audio.addEventListener("error", () => d3.select("#audio-note").attr("hidden", null)
      .text(`The audio file ${track.data.audio} could not be played: the page looks for it relative to its own folder.`));
    let resizing = null;
    window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(layout, 150); });

    const linked = data.tracks.findIndex((t) => t.id === hashValue("track"));
    selectTrack(Math.max(0, linked));
    const selftest = hashValue("selftest");
    if (selftest !== null) runSelftest(selftest);
  }

  try {
    start();
  } catch (error) {
    window.pageErrors.push(String(error && error.stack ? error.stack : error));
    if (location.hash.startsWith("#selftest=")) d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify({ errors: window.pageErrors }));
    throw error;
  }
})();
