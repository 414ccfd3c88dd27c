// conceptree TCAV: per concept its sensitivity and TCAV score over repeated runs against the null of
// random track sets of its size, whether they differ significantly, and with a hierarchy how it sits
// beside its parents and children, all drawn from TCAV_DATA (written by `conceptree tcav`) with d3.
"use strict";

(function () {
  const data = TCAV_DATA;
  const concepts = data.concepts;
  const alpha = data.alpha;
  const formatValue = d3.format(".2f");
  const formatStatistic = d3.format(".3~g");
  const formatP = d3.format(".2~g");
  const formatCount = d3.format(",");
  // NaN travels as null in JSON; a missing number reads as null too.
  const finite = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const show = (v, format) => (finite(v) === null ? "—" : format(v));
  const measureNames = { sensitivity: "sensitivity", score: "TCAV score", magnitude: "magnitude-weighted score" };
  // The null of each measure: random concepts scored like the concept (the magnitude has none).
  const nullOf = (c, shown) => (shown === "score" ? c.random : shown === "sensitivity" ? c.random_sensitivity : null) || null;
  const verdictOf = (c) => (c.tests || {})[data.test] || {};

  // ---------------------------------------------------------------- structure
  // Links name concepts by id; an id that is not in the list has no row to link to.
  const indexOf = new Map(concepts.map((c, i) => [c.id, i]));
  const linked = (ids) => (data.hierarchy && Array.isArray(ids) ? ids.map((id) => indexOf.get(id)).filter((i) => i !== undefined) : []);
  const parents = concepts.map((c) => linked(c.parents));
  const children = concepts.map((c) => linked(c.children));

  // Tree rows start at the concepts without a parent, then at one concept of each cycle no such
  // concept reaches.
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

  // ---------------------------------------------------------------- significance
  const belowAlpha = (q) => finite(q) !== null && q < alpha;
  // The verdict is the t-test's q; the rank test, distribution-free but never below 1/(n+1), confirms it or not.
  const markLevel = (c) => (c.significant !== true ? 0 : belowAlpha(verdictOf(c).q_rank) ? 2 : 1);
  const sortQ = (c) => finite(verdictOf(c).q_t) ?? Infinity;
  const directionClass = (c) => (c.direction === 1 ? "dir-above" : c.direction === -1 ? "dir-below" : "dir-none");
  const directionWords = (c) => (c.direction === 1 ? "above the null" : c.direction === -1 ? "below the null" : "not significant");
  const markText = (c) => ["", "☆", "★"][markLevel(c)];
  const markTitle = (c) => ["not significant", "significant: t-test q < α; the rank test does not reach α", "significant: q < α in the t-test and the rank test"][markLevel(c)] +
    ` (${data.test} t-test q ${show(verdictOf(c).q_t, formatP)}, rank test q ${show(verdictOf(c).q_rank, formatP)}, α ${alpha})`;

  // ---------------------------------------------------------------- state
  let measure = measureNames[data.test] ? data.test : "score";  // the bars: "sensitivity", "score" or "magnitude"
  let sortByQ = false;        // otherwise highest mean first
  let significantOnly = false;
  let filterText = "";
  let treeView = Boolean(data.hierarchy);
  let policy = "all";         // tree rows open when not toggled: "all" (each concept where it first appears) or "none"
  const toggled = new Map();  // row key ("3/17/42", the concept path from a root) -> open
  let selected = null;
  let rows = [];

  const meanOf = (i) => finite((concepts[i][measure] || {}).mean) ?? -Infinity;
  function compare(a, b) {
    if (sortByQ) {
      const byQ = sortQ(concepts[a]) - sortQ(concepts[b]);
      if (byQ) return byQ;
    }
    return meanOf(b) - meanOf(a) || a - b;
  }

  function passes(i) {
    const c = concepts[i];
    if (significantOnly && c.significant !== true) return false;
    return !filterText || [c.label, c.id, c.type].some((text) => String(text ?? "").toLowerCase().includes(filterText));
  }

  // ---------------------------------------------------------------- rows
  // In the tree, a concept that passes the filter brings its ancestors along as context. A concept
  // appears under each of its parents; a child already on the row's own path is a cycle and is
  // shown once more, marked, but never opened.
  function visibleRows() {
    const passing = d3.range(concepts.length).filter(passes);
    if (!treeView) return passing.sort(compare).map((concept) => ({ concept, key: String(concept), depth: 0 }));
    const passingSet = new Set(passing);
    const shown = new Set(passing);
    for (const concept of passing) ancestorsOf(concept, shown);
    const result = [];
    const opened = new Set();
    const stack = roots.filter((r) => shown.has(r)).sort(compare).reverse()
      .map((concept) => ({ concept, key: String(concept), depth: 0, path: new Set([concept]) }));
    while (stack.length) {
      const row = stack.pop();
      row.context = !passingSet.has(row.concept);
      result.push(row);
      const kids = children[row.concept].filter((k) => shown.has(k)).sort(compare);
      row.hasChildren = kids.length > 0 && !row.cycle;
      const open = toggled.has(row.key) ? toggled.get(row.key) : policy === "all" && !opened.has(row.concept);
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

  const percent = (v) => `${Math.max(0, Math.min(1, v)) * 100}%`;
  // Scores live in [0, 1]; sensitivities around 0, drawn on [-range, range] with 0 in the middle.
  const sensitivityRange = (() => {
    let largest = 0.05;
    for (const c of concepts) {
      for (const s of [c.sensitivity, c.random_sensitivity]) {
        if (s && finite(s.mean) !== null) largest = Math.max(largest, Math.abs(s.mean) + (finite(s.std) ?? 0));
      }
    }
    return Math.min(1, Math.ceil(largest * 20) / 20);
  })();
  const toUnit = (v) => (measure === "sensitivity" ? 0.5 + v / (2 * sensitivityRange) : v);
  const at = (v) => percent(toUnit(v));
  const between = (from, to) => `calc(${at(to)} - ${at(from)})`;

  function buildPlot(plot) {
    plot.append("div").attr("class", "bar");
    plot.append("div").attr("class", "band");
    plot.append("div").attr("class", "reference").style("left", "50%");
    plot.append("div").attr("class", "spread");
  }

  // Bars grow from 0 (the score's) or from the middle (the sensitivity's); the band is the null's mean ± sd.
  function updatePlot(plot) {
    plot.each(function (d) {
      const c = concepts[d.concept], value = c[measure] || {}, random = nullOf(c, measure) || {};
      const mean = finite(value.mean), spread = finite(value.std) ?? 0;
      const nullMean = finite(random.mean), nullSpread = finite(random.std) ?? 0;
      const element = d3.select(this);
      const band = element.select(".band").attr("hidden", nullMean !== null ? null : true);
      if (nullMean !== null) band.style("left", at(nullMean - nullSpread)).style("width", between(nullMean - nullSpread, nullMean + nullSpread));
      const from = Math.min(0, mean ?? 0), to = Math.max(0, mean ?? 0);
      element.select(".bar").attr("hidden", mean === null ? true : null).style("left", at(from)).style("width", between(from, to));
      element.select(".spread").attr("hidden", mean === null || spread === 0 ? true : null)
        .style("left", at((mean ?? 0) - spread)).style("width", between((mean ?? 0) - spread, (mean ?? 0) + spread));
      element.attr("title", `${measureNames[measure]} ${show(value.mean, formatValue)} ± ${show(value.std, formatValue)} over ${(value.runs || []).length} runs` +
        (nullMean !== null ? ` · random concepts ${show(random.mean, formatValue)} ± ${show(random.std, formatValue)}` : "") +
        ` · ${directionWords(c)}`);
    });
  }

  const valueText = (c) => `${show((c[measure] || {}).mean, formatValue)} ± ${show((c[measure] || {}).std, formatValue)}`;

  // Rows are built once when they appear; later renders update them and put them in order.
  function renderRows() {
    rows = visibleRows();
    d3.select("#rows").attr("role", treeView ? "tree" : "list").selectAll("div.row").data(rows, (d) => d.key).join((enter) => {
      const row = enter.append("div").attr("class", "row");
      const name = row.append("div").attr("class", "name-cell");
      name.append("span").attr("class", "caret");
      name.append("span").attr("class", "mark");
      name.append("span").attr("class", "name");
      name.append("span").attr("class", "agrees").text("subtree agrees");
      row.append("div").attr("class", "plot").call(buildPlot);
      row.append("div").attr("class", "value");
      row.append("div").attr("class", "q");
      return row;
    })
      .attr("class", (d) => `row ${directionClass(concepts[d.concept])}`)
      .classed("context", (d) => Boolean(d.context))
      .classed("cycle", (d) => Boolean(d.cycle))
      .classed("selected", (d) => d.concept === selected)
      .attr("role", treeView ? "treeitem" : "listitem")
      .attr("data-concept", (d) => concepts[d.concept].id)
      .attr("aria-expanded", (d) => (d.hasChildren ? d.open : null))
      .call((row) => row.select(".name-cell").style("padding-left", (d) => `${0.2 + d.depth * 1.1}rem`))
      .call((row) => row.select(".caret").text((d) => (d.hasChildren ? (d.open ? "▾" : "▸") : "")))
      .call((row) => row.select(".mark").text((d) => markText(concepts[d.concept])).attr("title", (d) => markTitle(concepts[d.concept])))
      .call((row) => row.select(".name").text((d) => concepts[d.concept].label + (d.cycle ? " ↻" : ""))
        .attr("title", (d) => (d.cycle ? "already above on this path: the links form a cycle" : concepts[d.concept].id)))
      .call((row) => row.select(".agrees").attr("hidden", (d) => (concepts[d.concept].subtree_agrees === true ? null : true))
        .attr("title", (d) => `every concept in its subtree is significant in the same direction: ${directionWords(concepts[d.concept])}`))
      .call((row) => row.select(".plot").call(updatePlot))
      .call((row) => row.select(".value").text((d) => valueText(concepts[d.concept])))
      .call((row) => row.select(".q").text((d) => show(sortQ(concepts[d.concept]), formatP)).attr("title", (d) => markTitle(concepts[d.concept])));
    const passing = rows.filter((r) => !r.context).length;
    d3.select("#rows-hint").text(`${formatCount(rows.length)} rows · ${formatCount(new Set(rows.map((r) => r.concept)).size)} of ${formatCount(concepts.length)} concepts` +
      (filterText || significantOnly ? ` · ${formatCount(passing)} rows match` : "") +
      (treeView ? " · grouped by the hierarchy" : sortByQ ? " · smallest q first" : " · highest first"));
    d3.select("#rows").selectAll("p.empty").data(rows.length ? [] : [0]).join("p").attr("class", "empty")
      .text(concepts.length ? "No concept matches." : "These results hold no concept.");
  }

  function onRowClick(event) {
    const element = event.target.closest("div.row");
    if (!element) return;
    const row = d3.select(element).datum();
    if (event.target.classList.contains("caret") && row.hasChildren) {
      toggled.set(row.key, !row.open);
      renderRows();
    } else {
      select(row.concept);
    }
  }

  // ---------------------------------------------------------------- detail
  function select(concept) {
    selected = concept;
    d3.select("#rows").selectAll("div.row").classed("selected", (d) => d.concept === selected);
    renderDetail();
    history.replaceState(null, "", `#concept=${encodeURIComponent(concepts[concept].id)}`);
  }

  // Each run as a dot, the concept's above its random concepts' means, means as ticks.
  function renderRuns(panel, c) {
    const value = c[measure] || {}, random = nullOf(c, measure);
    const lanes = [[measureNames[measure], value, "concept-run"]];
    if (random) lanes.push(["random concepts", random, "random-run"]);
    const width = Math.max(200, panel.node().clientWidth), laneHeight = 26, left = 88, top = 4;
    const x = d3.scaleLinear(measure === "sensitivity" ? [-sensitivityRange, sensitivityRange] : [0, 1], [left, width - 8]);
    const svg = panel.append("svg").attr("class", "runs").attr("width", width).attr("height", top + lanes.length * laneHeight + 20);
    lanes.forEach(([name, summary, kind], lane) => {
      const y = top + lane * laneHeight + laneHeight / 2;
      svg.append("text").attr("class", "run-label").attr("x", 0).attr("y", y).attr("dy", "0.32em").text(name);
      svg.append("g").selectAll("circle").data((summary.runs || []).filter((v) => finite(v) !== null)).join("circle")
        .attr("class", kind).attr("r", 3.2).attr("cx", (v) => x(v)).attr("cy", y);
      if (finite(summary.mean) !== null) {
        svg.append("line").attr("class", "run-mean").attr("x1", x(summary.mean)).attr("x2", x(summary.mean)).attr("y1", y - 9).attr("y2", y + 9);
      }
    });
    svg.append("g").attr("transform", `translate(0,${top + lanes.length * laneHeight})`).call(d3.axisBottom(x).ticks(5));
  }

  // The concept between its parents and children, each row drawn like the list's.
  function renderRelated(panel, concept) {
    const related = parents[concept].map((i) => ({ concept: i, relation: "parent" }))
      .concat([{ concept, relation: "this" }], children[concept].slice().sort(compare).map((i) => ({ concept: i, relation: "child" })));
    const list = panel.append("div").attr("class", "related");
    const row = list.selectAll("div.row").data(related).join("div")
      .attr("class", (d) => `row ${directionClass(concepts[d.concept])}${d.relation === "this" ? " this" : ""}`)
      .attr("data-relation", (d) => d.relation)
      .on("click", (event, d) => { if (d.concept !== concept) select(d.concept); });
    row.append("span").attr("class", "relation").text((d) => (d.relation === "this" ? "" : d.relation));
    const name = row.append("div").attr("class", "name-cell");
    name.append("span").attr("class", "mark").text((d) => markText(concepts[d.concept])).attr("title", (d) => markTitle(concepts[d.concept]));
    name.append("span").attr("class", "name").text((d) => concepts[d.concept].label).attr("title", (d) => concepts[d.concept].id);
    row.append("div").attr("class", "plot").call(buildPlot).call(updatePlot);
    row.append("div").attr("class", "value").text((d) => show((concepts[d.concept][measure] || {}).mean, formatValue));
    const c = concepts[concept];
    if (c.subtree_agrees === true) {
      panel.append("p").attr("class", `note agrees-note ${directionClass(c)}`).text(`Its whole subtree agrees: every concept below it is significant, ${directionWords(c)}.`);
    } else if (c.subtree_agrees === false) {
      panel.append("p").attr("class", "note").text("Its subtree does not agree: some concept below it is not significant in the same direction.");
    }
  }

  function renderDetail() {
    const panel = d3.select("#detail");
    panel.selectAll("*").remove();
    if (selected === null) {
      panel.append("p").attr("class", "empty").text("Click a concept to see its runs, its tests" + (data.hierarchy ? " and its parents' and children's scores." : "."));
      return;
    }
    const c = concepts[selected];
    panel.append("h2").text(c.label);
    if (c.label !== c.id) panel.append("div").attr("class", "concept-id").text(c.id);
    const badges = panel.append("div").attr("class", "badges");
    if (c.type) badges.append("span").attr("class", "badge").text(c.type);
    badges.append("span").attr("class", "badge").text(`${show(c.n_tracks, formatCount)} tracks`);
    badges.append("span").attr("class", `badge ${directionClass(c)}`).text(`${markText(c)} ${directionWords(c)}`.trim()).attr("title", markTitle(c));
    const summary = (s) => `${show((s || {}).mean, formatValue)} ± ${show((s || {}).std, formatValue)} (${((s || {}).runs || []).length} runs)`;
    const facts = [
      ["TCAV score", summary(c.score)],
      ["Magnitude", summary(c.magnitude)],
      ["Sensitivity", summary(c.sensitivity)],
      ["Random concepts", `score ${summary(c.random)} · sensitivity ${summary(c.random_sensitivity)}`],
    ];
    for (const name of ["sensitivity", "score"]) {
      const test = (c.tests || {})[name] || {};
      facts.push([`${measureNames[name]} test${name === data.test ? " (the verdict)" : ""}`,
        `t ${show(test.t, formatStatistic)} on ${show(test.df, formatStatistic)} df · p ${show(test.p_t, formatP)} · q ${show(test.q_t, formatP)}` +
        ` · rank test p ${show(test.p_rank, formatP)} · q ${show(test.q_rank, formatP)}`]);
    }
    const runsTest = c.runs_test || {};
    facts.push(
      ["tf/tcav runs test", `Welch q ${show(runsTest.q_welch, formatP)} · permutation q ${show(runsTest.q_permutation, formatP)} (runs taken as independent: for comparison, not the verdict)`]);
    const list = panel.append("dl").attr("class", "facts");
    for (const [name, value] of facts) {
      list.append("dt").text(name);
      list.append("dd").text(value);
    }
    panel.append("h3").text("Runs");
    renderRuns(panel, c);
    if (data.hierarchy) {
      panel.append("h3").text("Beside its parents and children");
      renderRelated(panel, selected);
    }
  }

  // ---------------------------------------------------------------- header, axis, legend
  function renderHeader() {
    const title = `TCAV of ${data.target} at ${data.layer}`;
    document.title = `${title} — conceptree`;
    d3.select("#title").text(title);
    d3.select("#version").text(data.tool_version);
    d3.select("#settings").text([
      `${formatCount(data.runs)} runs`, `${formatCount(data.random_runs)} random concepts`, `${formatCount(data.permutations)} permutations`,
      `α ${alpha}`, `${formatCount(data.inputs)} inputs scored`, `${formatCount(data.tracks)} tracks`, `seed ${data.seed}`,
    ].join(" · "));
    const significant = concepts.filter((c) => c.significant === true).length;
    d3.select("#footer").text(`Written by ${data.tool_version} · ${formatCount(concepts.length)} concepts · ${formatCount(significant)} significant · ` +
      "sensitivity: the mean derivative of the output along the concept's unit direction, over the mean gradient norm; TCAV score: the share of inputs whose output grows along it; " +
      "the null: random track sets of the concept's size, each scored like a concept");
  }

  function renderLegend() {
    const legend = d3.select("#legend");
    legend.selectAll("*").remove();
    const item = (swatchStyle, text) => legend.append("span").call((s) => s.append("span").attr("class", "swatch").attr("style", swatchStyle)).append("span").text(text);
    item("background: var(--above)", "significantly above the null");
    item("background: var(--below)", "significantly below");
    item("background: var(--neutral)", "not significant");
    if (measure !== "magnitude") item("background: var(--null-band)", "random concepts, mean ± sd");
    else legend.append("span").text("the magnitude has no null: the tests are of the sensitivity and the score");
    legend.append("span").text(`whisker: ± sd over runs · dashed: ${measure === "sensitivity" ? "0" : "0.5"} · ★ significant (${data.test} t-test q < α) and confirmed by the rank test, ☆ significant by the t-test alone`);
    d3.select("#value-heading").text(`${measureNames[measure]} ± sd`);
    const ticks = measure === "sensitivity" ? [-1, -0.5, 0, 0.5, 1].map((f) => f * sensitivityRange) : [0, 0.25, 0.5, 0.75, 1];
    d3.select("#axis").selectAll("span.tick").data(ticks).join("span").attr("class", "tick")
      .style("left", (v) => at(v)).text((v) => String(+v.toFixed(3)));
  }

  // ---------------------------------------------------------------- controls
  function toggleButton(id, apply) {
    d3.select(id).on("click", (event) => {
      const pressed = event.currentTarget.getAttribute("aria-pressed") !== "true";
      d3.select(event.currentTarget).attr("aria-pressed", pressed);
      apply(pressed);
      renderRows();
    });
  }

  function setFilter(text) {
    filterText = text.trim().toLowerCase();
    policy = "all";
    toggled.clear();
    renderRows();
  }

  function bindControls() {
    d3.select("#filter").on("input", (event) => setFilter(event.target.value));
    toggleButton("#sort-q", (pressed) => { sortByQ = pressed; });
    toggleButton("#significant-only", (pressed) => { significantOnly = pressed; });
    d3.select("#measure").property("value", measure).on("change", (event) => {
      measure = event.currentTarget.value;
      renderLegend();
      renderRows();
      if (selected !== null) renderDetail();
    });
    toggleButton("#tree-view", (pressed) => {
      treeView = pressed;
      d3.selectAll("#expand-all, #collapse-all").attr("hidden", treeView ? null : true);
    });
    for (const [button, opening] of [["#expand-all", "all"], ["#collapse-all", "none"]]) {
      d3.select(button).on("click", () => {
        policy = opening;
        toggled.clear();
        renderRows();
      });
    }
    d3.selectAll("#tree-view, #expand-all, #collapse-all").attr("hidden", data.hierarchy ? null : true);
    d3.select("#rows").on("click", onRowClick);
  }

  // ---------------------------------------------------------------- start
  function hashValue(name) {
    const match = location.hash.match(new RegExp(`^#${name}=(.*)$`));
    return match ? decodeURIComponent(match[1]) : null;
  }

  const click = (element) => element.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  const rowCount = () => d3.selectAll("#rows div.row").size();
  const rowLabels = () => Array.from(document.querySelectorAll("#rows div.row .name"), (name) => name.textContent);
  const rowOf = (key) => d3.selectAll("#rows div.row").filter((d) => d.key === key).node();

  // For the browser test: records what rendered, then exercises each control and records what it
  // showed, all in one element the test reads back. `query` is typed into the filter; the first
  // concept it matches is selected.
  function runSelftest(query) {
    const result = {
      concepts: concepts.length,
      title: document.getElementById("title").textContent,
      settings: document.getElementById("settings").textContent,
      view: treeView ? "tree" : "list",
      rows: rowCount(),
      row_labels: rowLabels(),
      starred_concepts: new Set(d3.selectAll("#rows div.row").filter((d) => markLevel(concepts[d.concept]) === 2).data().map((d) => d.concept)).size,
      star_marks: Array.from(document.querySelectorAll("#rows .mark"), (m) => m.textContent).filter((t) => t === "★").length,
      agreeing_rows: Array.from(document.querySelectorAll("#rows .agrees")).filter((a) => !a.hidden).length,
      bands: Array.from(document.querySelectorAll("#rows .band")).filter((b) => !b.hidden).length,
    };
    const open = document.querySelector("#rows div.row[aria-expanded=true]");
    if (open) {
      const key = d3.select(open).datum().key;
      result.collapsed = concepts[d3.select(open).datum().concept].label;
      click(open.querySelector(".caret"));
      result.rows_after_collapse = rowCount();
      result.rows_below_collapsed = d3.selectAll("#rows div.row").filter((d) => d.key.startsWith(`${key}/`)).size();
      click(rowOf(key).querySelector(".caret"));
      result.rows_after_expand = rowCount();
    }
    const filter = document.getElementById("filter");
    filter.value = query;
    filter.dispatchEvent(new Event("input", { bubbles: true }));
    result.filtered_rows = rowCount();
    result.filtered_labels = rowLabels();
    result.filtered_matches = d3.selectAll("#rows div.row").filter((d) => !d.context).data().map((d) => concepts[d.concept].id);
    const hit = d3.range(concepts.length).filter(passes).sort(compare)[0];
    filter.value = "";
    filter.dispatchEvent(new Event("input", { bubbles: true }));

    click(document.getElementById("significant-only"));
    result.significant_rows = rowCount();
    result.significant_labels = rowLabels();
    click(document.getElementById("significant-only"));

    const shown = measure;
    const choose = (value) => {
      const select = document.getElementById("measure");
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    };
    choose("magnitude");
    result.magnitude_values = Array.from(document.querySelectorAll("#rows div.row .value"), (v) => v.textContent);
    result.magnitude_bands = Array.from(document.querySelectorAll("#rows .band")).filter((b) => !b.hidden).length;
    choose("sensitivity");
    result.sensitivity_values = Array.from(document.querySelectorAll("#rows div.row .value"), (v) => v.textContent);
    result.sensitivity_bands = Array.from(document.querySelectorAll("#rows .band")).filter((b) => !b.hidden).length;
    result.sensitivity_ticks = Array.from(document.querySelectorAll("#axis .tick"), (t) => t.textContent);
    choose(shown);

    if (treeView) click(document.getElementById("tree-view"));
    result.list_rows = rowCount();
    result.list_labels = rowLabels();
    click(document.getElementById("sort-q"));
    result.q_labels = rowLabels();
    click(document.getElementById("sort-q"));
    if (data.hierarchy) click(document.getElementById("tree-view"));

    if (hit !== undefined) {
      click(d3.selectAll("#rows div.row").filter((d) => d.concept === hit).node().querySelector(".name"));
      result.selected = concepts[hit].id;
      result.detail_title = d3.select("#detail h2").text();
      result.detail_related = Array.from(document.querySelectorAll("#detail .related div.row"),
        (row) => `${row.getAttribute("data-relation")}: ${row.querySelector(".name").textContent}`);
      result.detail_runs = d3.selectAll("#detail svg.runs circle").size();
    }
    Object.assign(result, { milliseconds: Math.round(performance.now()), errors: window.pageErrors });
    d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify(result));
  }

  function start() {
    renderHeader();
    renderLegend();
    bindControls();
    renderRows();
    renderDetail();
    const selftest = hashValue("selftest"), linkedConcept = hashValue("concept");
    if (selftest !== null) {
      runSelftest(selftest);
    } else if (linkedConcept !== null && indexOf.has(linkedConcept)) {
      select(indexOf.get(linkedConcept));
      const row = d3.selectAll("#rows div.row").filter((d) => d.concept === selected).node();
      if (row) row.scrollIntoView({ block: "nearest" });
    }
  }

  try {
    start();
  } catch (error) {
    window.pageErrors.push(String(error && error.stack ? error.stack : error));
    if (location.hash.startsWith("#selftest=")) d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify({ errors: window.pageErrors }));
    throw error;
  }
})();
