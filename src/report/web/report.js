// conceptree report: hierarchy tree with search, concept details, CAV map, accuracy histogram and
// evaluation tables, all drawn from REPORT_DATA (written by `conceptree report`) with d3.
"use strict";

(function () {
  const data = REPORT_DATA;
  const concepts = data.concepts;
  const formatNumber = d3.format(",");
  const formatShare = d3.format(".3f");
  // "0.830 (95 % interval 0.740–0.900)": the interval is over the test tracks the accuracy was measured on.
  const intervalText = (c) => {
    if (c.test_balanced_accuracy === null || c.test_balanced_accuracy === undefined) return "—";
    const ci = c.test_balanced_accuracy_ci95;
    return formatShare(c.test_balanced_accuracy) + (Array.isArray(ci) ? ` (95 % interval ${formatShare(ci[0])}–${formatShare(ci[1])})` : "");
  };
  const formatPercent = d3.format(".0%");
  const maxSearchResults = 30;
  const maxChildChips = 60;

  // ---------------------------------------------------------------- structure
  const inTree = concepts.map((c) => c.in_hierarchy);
  const centrality = (i) => concepts[i].centrality ?? 0;
  const byCentrality = (a, b) => centrality(b) - centrality(a) || a - b;

  // Every link as the hierarchy has it; with bootstrap support, the support filter shows the links
  // at or above its value, and a concept whose links all fall below it moves to the top level.
  const hasSupport = data.has_support === true;
  const allLinks = [];
  concepts.forEach((c, child) => c.parents.forEach((parent, k) => allLinks.push({ parent, child, support: hasSupport ? c.parent_support[k] : null })));
  const supportOf = new Map(allLinks.map((l) => [`${l.parent}/${l.child}`, l.support]));

  // Tree roots: the top-level concepts, then one entry per cycle that no top-level concept reaches
  // (a baseline graph may have no top level at all). `via` is the parent each concept is first
  // reached through, the path the search expands.
  const roots = [];
  const via = new Map();
  function buildStructure(minSupport) {
    for (const c of concepts) {
      c.parents = [];
      c.children = [];
    }
    for (const l of allLinks) {
      if (l.support !== null && l.support < minSupport) continue;
      concepts[l.child].parents.push(l.parent);
      concepts[l.parent].children.push(l.child);
    }
    roots.length = 0;
    via.clear();
    const ordered = d3.range(concepts.length).filter((i) => inTree[i]).sort(byCentrality);
    const reach = (start) => {
      const queue = [start];
      via.set(start, -1);
      for (let next = 0; next < queue.length; ++next) {
        for (const child of concepts[queue[next]].children) {
          if (!via.has(child)) {
            via.set(child, queue[next]);
            queue.push(child);
          }
        }
      }
    };
    for (const i of ordered) if (concepts[i].parents.length === 0) roots.push(i);
    roots.forEach(reach);
    for (const i of ordered) {
      if (!via.has(i)) {
        roots.push(i);
        reach(i);
      }
    }
  }
  buildStructure(0);
  const supportColour = d3.interpolateRgb("#b8bcc4", "#17693a");

  // ---------------------------------------------------------------- colours
  const palette = d3.schemeTableau10.concat(d3.schemeSet3);
  const otherColour = "#b8bcc4";
  function categoryColours(values) {
    const counts = d3.rollups(values.filter((v) => v != null && v !== ""), (v) => v.length, (v) => v).sort((a, b) => b[1] - a[1] || d3.ascending(a[0], b[0]));
    const named = counts.slice(0, palette.length).map((d) => d[0]);
    const scale = d3.scaleOrdinal(named, palette);
    return { colour: (v) => (named.includes(v) ? scale(v) : otherColour), named, hasOther: counts.length > named.length };
  }
  const typeColours = categoryColours(concepts.map((c) => c.type));
  const hasTruth = concepts.some((c) => c.family !== undefined);
  const familyColours = hasTruth ? categoryColours(concepts.map((c) => c.family)) : null;
  let colourBy = hasTruth ? "family" : "type";
  const colourOf = (c) => (colourBy === "family" ? familyColours.colour(c.family) : typeColours.colour(c.type));

  // ---------------------------------------------------------------- state
  let selected = null;
  let searchHits = [];
  const expanded = new Set(); // keys of expanded tree rows: the concept path from a root, "3/17/42"

  // ---------------------------------------------------------------- header
  function renderHeader() {
    const counts = data.counts;
    const hierarchyName = data.files.hierarchy.split("/").pop();
    document.title = `${hierarchyName} — conceptree report`;
    const items = [
      ["trained", counts.trained], ["kept", counts.kept], ["in hierarchy", counts.hierarchy_nodes],
      ["links", counts.links], ["top-level", counts.top_level], ["depth", counts.max_depth],
    ];
    d3.select("#counts").selectAll("div").data(items).join("div")
      .call((div) => div.append("dt").text((d) => d[0]))
      .call((div) => div.append("dd").text((d) => formatNumber(d[1])));
    const method = data.hierarchy_params.method ? ` (${data.hierarchy_params.method})` : "";
    const note = { hierarchy: method, similarity: data.measure ? ` (${data.measure})` : "" };
    d3.select("#files").selectAll("span.file").data(Object.entries(data.files)).join("span").attr("class", "file").attr("title", (d) => d[1])
      .call((span) => span.append("b").text((d) => `${d[0]} `))
      .call((span) => span.append("span").text((d) => d[1].split("/").pop() + (note[d[0]] ?? "")));
    const warnings = data.warnings.slice();
    if (counts.kept === 0) warnings.unshift("No concept was kept: none passed the accuracy cut-off, so the hierarchy is empty.");
    d3.select("#warnings").selectAll("li").data(warnings).join("li").text((d) => d);
    d3.select("#version").text(data.tool_version);
    // The path is the page's file path relative to this one: each segment is encoded, the slashes kept.
    if (data.explanations) {
      d3.select("#explanations-link").attr("hidden", null).attr("title", data.explanations)
        .attr("href", data.explanations.split("/").map(encodeURIComponent).join("/"));
    }
    d3.select("#footer").text(`Written by ${data.tool_version} · CAV layer ${data.layer} · ${formatNumber(concepts.length)} concepts`);
  }

  // ---------------------------------------------------------------- tree
  // Visible rows, depth first. A concept appears under each of its parents; a child already on the
  // row's own path is a cycle and is shown once more, marked, but never expanded.
  function visibleRows() {
    const rows = [];
    const stack = roots.slice().reverse().map((concept) => ({ concept, key: String(concept), depth: 0, path: new Set([concept]) }));
    while (stack.length) {
      const row = stack.pop();
      rows.push(row);
      if (row.cycle || !expanded.has(row.key)) continue;
      const children = concepts[row.concept].children;
      for (let k = children.length - 1; k >= 0; --k) {
        const child = children[k];
        const cycle = row.path.has(child);
        stack.push({ concept: child, parent: row.concept, key: `${row.key}/${child}`, depth: row.depth + 1, cycle, path: cycle ? row.path : new Set(row.path).add(child) });
      }
    }
    return rows;
  }

  // Expands each concept at its first appearance only, so a DAG's shared subtrees are listed once.
  function expandAll() {
    expanded.clear();
    const done = new Set();
    const stack = roots.slice().reverse().map((concept) => ({ concept, key: String(concept), path: [concept] }));
    while (stack.length) {
      const row = stack.pop();
      if (done.has(row.concept) || concepts[row.concept].children.length === 0) continue;
      done.add(row.concept);
      expanded.add(row.key);
      const children = concepts[row.concept].children;
      for (let k = children.length - 1; k >= 0; --k) {
        if (!row.path.includes(children[k])) stack.push({ concept: children[k], key: `${row.key}/${children[k]}`, path: row.path.concat(children[k]) });
      }
    }
  }

  // Expands the path the concept was first reached through; returns its row key.
  function reveal(concept) {
    if (!via.has(concept)) return null;
    const path = [];
    for (let c = concept; c !== -1; c = via.get(c)) path.unshift(c);
    for (let k = 1; k < path.length; ++k) expanded.add(path.slice(0, k).join("/"));
    return path.join("/");
  }

  // Rows are built once when they appear; later renders only add, remove and re-mark rows, so a
  // tree of thousands stays quick to click through.
  function renderTree() {
    const tree = d3.select("#tree");
    if (roots.length === 0) {
      tree.selectAll(".empty").data([0]).join("p").attr("class", "empty").text("The hierarchy has no concepts.");
      return;
    }
    tree.selectAll("div.row").data(visibleRows(), (d) => d.key).join((enter) => {
      const row = enter.append("div").attr("class", "row").attr("role", "treeitem")
        .style("padding-left", (d) => `${0.3 + d.depth * 1.1}rem`)
        .classed("cycle", (d) => !!d.cycle)
        .classed("unknown", (d) => concepts[d.concept].kept === null)
        .attr("data-concept", (d) => concepts[d.concept].id);
      row.append("span").attr("class", "caret");
      row.append("span").attr("class", "dot").style("background", (d) => typeColours.colour(concepts[d.concept].type));
      row.append("span").attr("class", "name").text((d) => concepts[d.concept].label + (d.cycle ? " ↻" : ""))
        .attr("title", (d) => (d.cycle ? "already above on this path: the links form a cycle" : concepts[d.concept].kept === null ? `${concepts[d.concept].id}: not in the concept set` : concepts[d.concept].id));
      row.filter((d) => !d.cycle && concepts[d.concept].children.length > 0).append("span").attr("class", "count")
        .text((d) => concepts[d.concept].children.length).attr("title", "children");
      row.filter((d) => concepts[d.concept].parents.length > 1).append("span").attr("class", "count parents")
        .text((d) => `${concepts[d.concept].parents.length} parents`);
      row.filter((d) => hasSupport && d.parent !== undefined).append("span").attr("class", "support")
        .each(function (d) {
          const support = supportOf.get(`${d.parent}/${d.concept}`);
          d3.select(this).text(formatShare(support)).style("color", supportColour(support)).style("border-color", supportColour(support))
            .attr("title", `support ${formatPercent(support)}: share of the bootstrap runs that put it under ${concepts[d.parent].label}`);
        });
      row.filter((d) => concepts[d.concept].weak === true).append("span").attr("class", "weak-mark").text("weak")
        .attr("title", (d) => `test balanced accuracy ${intervalText(concepts[d.concept])}: its 95 % interval reaches chance`);
      row.append("span").attr("class", "size").attr("title", "tracks")
        .text((d) => (concepts[d.concept].n_tracks === null ? "" : formatNumber(concepts[d.concept].n_tracks)));
      return row;
    })
      .attr("aria-expanded", (d) => (concepts[d.concept].children.length && !d.cycle ? expanded.has(d.key) : null))
      .select(".caret").text((d) => (d.cycle || concepts[d.concept].children.length === 0 ? "" : expanded.has(d.key) ? "▾" : "▸"));
    markTree();
  }

  function markTree() {
    const hits = new Set(searchHits);
    d3.select("#tree").selectAll("div.row").classed("selected", (d) => d.concept === selected).classed("hit", (d) => hits.has(d.concept));
  }

  function onTreeClick(event) {
    const row = event.target.closest("div.row");
    if (!row) return;
    const d = d3.select(row).datum();
    if (event.target.classList.contains("caret") && !d.cycle) {
      expanded.has(d.key) ? expanded.delete(d.key) : expanded.add(d.key);
      renderTree();
    } else {
      select(d.concept, { reveal: false });
    }
  }

  // ---------------------------------------------------------------- search
  function search(query) {
    const q = query.trim().toLowerCase();
    searchHits = [];
    if (q) {
      const scored = [];
      concepts.forEach((c, i) => {
        const label = c.label.toLowerCase(), id = c.id.toLowerCase();
        const at = Math.min(...[label.indexOf(q), id.indexOf(q)].map((p) => (p < 0 ? Infinity : p)));
        if (at !== Infinity) scored.push([at === 0 ? 0 : 1, label.length, i]);
      });
      scored.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      searchHits = scored.map((s) => s[2]);
      searchHits.slice(0, maxSearchResults).forEach(reveal);
    }
    const box = d3.select("#search-results");
    box.selectAll("*").remove();
    if (q) {
      box.append("div").attr("class", "match-count").text(searchHits.length === 0 ? "no concept matches" : `${formatNumber(searchHits.length)} match${searchHits.length > 1 ? "es" : ""}` + (searchHits.length > maxSearchResults ? ` (first ${maxSearchResults} listed)` : ""));
      box.selectAll("button.result").data(searchHits.slice(0, maxSearchResults)).join("button").attr("type", "button").attr("class", "result")
        .call((b) => b.append("span").attr("class", "dot").style("background", (i) => typeColours.colour(concepts[i].type)))
        .call((b) => b.append("span").text((i) => concepts[i].label))
        .call((b) => b.append("span").attr("class", "size").text((i) => concepts[i].type))
        .on("click", (event, i) => select(i, { reveal: true }));
    }
    renderTree();
    highlightMap();
    return searchHits;
  }

  // ---------------------------------------------------------------- selection and details
  function select(concept, { reveal: expandPath }) {
    selected = concept;
    const before = expanded.size;
    const key = expandPath ? reveal(concept) : null;
    if (expanded.size !== before) renderTree();
    else markTree();
    renderDetail();
    highlightMap();
    if (key) {
      const row = d3.select("#tree").selectAll("div.row").filter((d) => d.key === key).node();
      if (row) row.scrollIntoView({ block: "nearest" });
    }
    history.replaceState(null, "", `#concept=${encodeURIComponent(concepts[concept].id)}`);
  }

  function conceptLink(selection) {
    selection.attr("type", "button").attr("class", "chip").attr("title", (i) => concepts[i].id)
      .call((b) => b.append("span").attr("class", "dot").style("background", (i) => typeColours.colour(concepts[i].type)))
      .call((b) => b.append("span").text((i) => concepts[i].label))
      .on("click", (event, i) => select(i, { reveal: true }));
  }

  function renderDetail() {
    const panel = d3.select("#detail");
    panel.selectAll("*").remove();
    if (selected === null) {
      panel.append("p").attr("class", "empty").text("Click a concept in the tree or on the map, or search for one, to see its details and its most similar concepts.");
      return;
    }
    const c = concepts[selected];
    panel.append("h2").text(c.label);
    if (c.label !== c.id) panel.append("div").attr("class", "concept-id").text(c.id);
    const badges = panel.append("div").attr("class", "badges");
    badges.append("span").attr("class", "badge").style("border-color", typeColours.colour(c.type)).text(c.type || "no type");
    if (c.kept !== null) badges.append("span").attr("class", `badge ${c.kept ? "kept" : "discarded"}`).text(c.kept ? "kept" : "discarded");
    if (!c.in_hierarchy) badges.append("span").attr("class", "badge discarded").text("not in the hierarchy");
    if (c.weak === true) {
      badges.append("span").attr("class", "badge weak").text("weak: its accuracy interval reaches chance")
        .attr("title", "a classifier no better than chance fires on many tracks and can become a false hub");
    }
    const show = (v, f) => (v === null || v === undefined ? "—" : f(v));
    const facts = [
      ["Tracks", show(c.n_tracks, formatNumber)], ["Test balanced accuracy", intervalText(c)],
      ["Test ROC-AUC", show(c.test_roc_auc, formatShare)], ["Centrality", show(c.centrality, d3.format(".4~g"))],
      ["Depth", show(c.depth, String)],
    ];
    if (hasTruth) facts.push(["Truth family", show(c.family, String)]);
    const factList = panel.append("dl").attr("class", "facts");
    for (const [name, value] of facts) {
      factList.append("dt").text(name);
      factList.append("dd").text(value);
    }
    const links = (title, list, limit) => {
      panel.append("h3").text(`${title} (${list.length})`);
      const holder = panel.append("div").attr("class", "chips");
      if (list.length === 0) holder.append("span").attr("class", "none").text("none");
      holder.selectAll("button").data(list.slice(0, limit)).join("button").call(conceptLink);
      if (list.length > limit) holder.append("span").attr("class", "none").text(`and ${list.length - limit} more`);
    };
    links("Parents", c.parents, maxChildChips);
    links("Children", c.children, maxChildChips);
    const similar = (title, help, list) => {
      panel.append("h3").text(title).attr("title", help);
      if (list.length === 0) return void panel.append("p").attr("class", "none").text("not in the similarity file");
      const rows = panel.append("ol").attr("class", "similar").selectAll("li").data(list).join("li");
      rows.append("button").call((b) => conceptLink(b.datum((d) => d[0])));
      rows.append("span").attr("class", "bar").append("span").style("width", (d) => `${Math.max(0, Math.min(1, d[1])) * 100}%`);
      rows.append("span").attr("class", "value").text((d) => formatShare(d[1]));
    };
    similar("Its members look like", "S[this][other]: mean activation of the other concept's CAV on this concept's test tracks", c.similar_to);
    similar("Whose members look like it", "S[other][this]: mean activation of this concept's CAV on the other concept's test tracks", c.similar_from);
  }

  // ---------------------------------------------------------------- map
  let map = null; // { points, ring, x, y }: the drawn map and its current (zoomed) scales
  function renderMap() {
    const container = d3.select("#map");
    container.selectAll("*").remove();
    map = null;
    const placed = d3.range(concepts.length).filter((i) => concepts[i].map);
    const variance = data.map.explained_variance;
    d3.select("#map-hint").text(placed.length ? `PCA of the ${data.layer} CAVs, fitted on ${formatNumber(data.map.fitted_rows)} ${data.map.fitted_on} concepts` : "");
    if (placed.length === 0) return void container.append("p").attr("class", "empty").text("No CAV to place.");
    renderLegend(); // before measuring: the legend takes its share of the panel's height
    const width = Math.max(320, container.node().clientWidth), height = Math.max(280, container.node().clientHeight || width * 0.72);
    const margin = { top: 10, right: 12, bottom: 34, left: 42 };
    const x = d3.scaleLinear(d3.extent(placed, (i) => concepts[i].map[0]), [margin.left, width - margin.right]).nice();
    const y = d3.scaleLinear(d3.extent(placed, (i) => concepts[i].map[1]), [height - margin.bottom, margin.top]).nice();
    const svg = container.append("svg").attr("viewBox", [0, 0, width, height]).attr("width", width).attr("height", height);
    const xAxis = svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - margin.bottom})`);
    const yAxis = svg.append("g").attr("class", "axis").attr("transform", `translate(${margin.left},0)`);
    svg.append("text").attr("class", "axis-label").attr("x", width - margin.right).attr("y", height - 4).attr("text-anchor", "end").text(`PC1 · ${formatPercent(variance[0])} of variance`);
    svg.append("text").attr("class", "axis-label").attr("transform", `translate(11,${margin.top}) rotate(-90)`).attr("text-anchor", "end").text(`PC2 · ${formatPercent(variance[1])}`);
    svg.append("clipPath").attr("id", "map-clip").append("rect").attr("x", margin.left).attr("y", margin.top).attr("width", width - margin.left - margin.right).attr("height", height - margin.top - margin.bottom);
    const plot = svg.append("g").attr("clip-path", "url(#map-clip)");
    // Discarded concepts first, so the kept ones are drawn over them.
    const order = placed.slice().sort((a, b) => (concepts[a].kept === concepts[b].kept ? a - b : concepts[a].kept ? 1 : -1));
    // One listener per event on the group, not one per point.
    const layer = plot.append("g")
      .on("pointermove", (event) => showTooltip(event, d3.select(event.target).datum()))
      .on("pointerleave", () => d3.select("#tooltip").attr("hidden", true))
      .on("click", (event) => select(d3.select(event.target).datum(), { reveal: true }));
    // Smaller points as they get more numerous, so thousands still show the map's shape.
    const radius = placed.length > 2000 ? 2.6 : placed.length > 500 ? 3.2 : 4;
    const points = layer.selectAll("circle").data(order).join("circle").attr("r", radius)
      .attr("class", (i) => (concepts[i].kept === false ? "point discarded" : "point"));
    const ring = plot.append("g").attr("class", "selection-ring");
    ring.append("circle").attr("class", "halo").attr("r", 8);
    ring.append("circle").attr("r", 8);
    map = { points, ring, x, y };
    const zoomed = (transform) => {
      map.x = transform.rescaleX(x);
      map.y = transform.rescaleY(y);
      points.attr("cx", (i) => map.x(concepts[i].map[0])).attr("cy", (i) => map.y(concepts[i].map[1]));
      xAxis.call(d3.axisBottom(map.x).ticks(width / 90));
      yAxis.call(d3.axisLeft(map.y).ticks(height / 60));
      placeRing();
    };
    svg.call(d3.zoom().scaleExtent([1, 40]).on("zoom", (event) => zoomed(event.transform)));
    zoomed(d3.zoomIdentity);
    colourMap();
    highlightMap();
  }

  function placeRing() {
    const at = selected !== null && concepts[selected].map;
    map.ring.attr("display", at ? null : "none");
    if (at) map.ring.attr("transform", `translate(${map.x(at[0])},${map.y(at[1])})`).raise();
  }

  function colourMap() {
    if (!map) return;
    map.points.attr("fill", (i) => (concepts[i].kept === false ? otherColour : colourOf(concepts[i])));
    renderLegend();
  }

  function renderLegend() {
    const colours = colourBy === "family" ? familyColours : typeColours;
    const entries = colours.named.map((v) => [v, colours.colour(v)]);
    if (colours.hasOther || concepts.some((c) => c.map && (colourBy === "family" ? c.family : c.type) == null)) entries.push([colourBy === "family" ? "other / not in truth" : "other", otherColour]);
    if (concepts.some((c) => c.map && c.kept === false)) entries.push(["discarded (faint)", otherColour]);
    d3.select("#legend").selectAll("span.entry").data(entries).join("span").attr("class", "entry")
      .html("").call((s) => s.append("i").style("background", (d) => d[1])).call((s) => s.append("span").text((d) => d[0]));
    d3.select("#colour-by").selectAll("button").data(hasTruth ? ["family", "type"] : []).join("button")
      .attr("type", "button").text((d) => (d === "family" ? "Truth family" : "Type"))
      .classed("active", (d) => d === colourBy).attr("aria-pressed", (d) => d === colourBy)
      .on("click", (event, d) => { colourBy = d; colourMap(); });
  }

  function highlightMap() {
    if (!map) return;
    const hits = new Set(searchHits);
    map.points.classed("hit", (i) => hits.has(i)).classed("dimmed", (i) => hits.size > 0 && !hits.has(i));
    map.points.filter((i) => hits.has(i)).raise();
    placeRing();
  }

  function showTooltip(event, i) {
    const c = concepts[i];
    const lines = [c.type, c.family ? `truth family: ${c.family}` : null, c.n_tracks !== null ? `${formatNumber(c.n_tracks)} tracks` : null,
      c.test_balanced_accuracy !== null ? `test bal. acc. ${intervalText(c)}` : null, c.weak === true ? "weak" : null,
      c.kept === false ? "discarded" : null].filter(Boolean);
    const tip = d3.select("#tooltip").attr("hidden", null);
    tip.selectAll("*").remove();
    tip.append("b").text(c.label);
    tip.append("div").text(lines.join(" · "));
    tip.style("left", `${event.pageX + 14}px`).style("top", `${event.pageY + 10}px`);
  }

  // ---------------------------------------------------------------- accuracy histogram
  function renderHistogram() {
    const container = d3.select("#histogram");
    container.selectAll("*").remove();
    const accuracies = concepts.map((c) => c.test_balanced_accuracy).filter((a) => a !== null);
    const cut = data.min_accuracy;
    if (!data.has_metrics || accuracies.length === 0) {
      return void container.append("p").attr("class", "empty").text("The concept set has no training metrics (its CAVs were imported, not trained here).");
    }
    d3.select("#accuracy-hint").text(`${formatNumber(accuracies.length)} trained concepts` + (cut !== null ? `, kept when above ${cut}` : ""));
    const width = Math.max(300, container.node().clientWidth), height = 240;
    const margin = { top: 16, right: 14, bottom: 34, left: 42 };
    const low = Math.min(0.4, d3.min(accuracies), cut ?? 1);
    const x = d3.scaleLinear([Math.floor(low * 20) / 20, 1], [margin.left, width - margin.right]);
    const bins = d3.bin().domain(x.domain()).thresholds(d3.range(x.domain()[0], 1, 0.0125))(accuracies);
    const y = d3.scaleLinear([0, d3.max(bins, (b) => b.length)], [height - margin.bottom, margin.top]).nice();
    const svg = container.append("svg").attr("viewBox", [0, 0, width, height]).attr("width", width).attr("height", height);
    svg.append("g").selectAll("rect").data(bins).join("rect")
      .attr("class", (b) => (cut !== null && b.x0 < cut ? "bin below" : "bin"))
      .attr("x", (b) => x(b.x0) + 0.5).attr("width", (b) => Math.max(0, x(b.x1) - x(b.x0) - 1))
      .attr("y", (b) => y(b.length)).attr("height", (b) => y(0) - y(b.length))
      .append("title").text((b) => `${formatShare(b.x0)}–${formatShare(b.x1)}: ${b.length} concepts`);
    svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - margin.bottom})`).call(d3.axisBottom(x).ticks(width / 70));
    svg.append("g").attr("class", "axis").attr("transform", `translate(${margin.left},0)`).call(d3.axisLeft(y).ticks(5));
    svg.append("text").attr("class", "axis-label").attr("x", width - margin.right).attr("y", height - 4).attr("text-anchor", "end").text("test balanced accuracy");
    if (cut !== null) {
      svg.append("line").attr("class", "cutoff").attr("x1", x(cut)).attr("x2", x(cut)).attr("y1", margin.top - 6).attr("y2", height - margin.bottom);
      svg.append("text").attr("class", "cutoff-label").attr("x", x(cut) + 4).attr("y", margin.top).text(`keep > ${cut}`);
    }
  }

  // ---------------------------------------------------------------- evaluation
  const metricNames = {
    family_purity: "Family purity", ancestor_precision: "Ancestor precision", ancestor_recall: "Ancestor recall", ancestor_f1: "Ancestor F1",
    parent_precision: "Parent precision", parent_recall: "Parent recall", parent_f1: "Parent F1",
    undirected_parent_precision: "Undirected parent precision", undirected_parent_recall: "Undirected parent recall",
    undirected_parent_f1: "Undirected parent F1", adjusted_rand_index: "Adjusted Rand index",
  };
  const methodNames = { hierarchy: "Hierarchy", top1: "Top-1", random_top: "Random-Top", random_sim: "Random-Sim", matching: "Matching", similarity: "Similarity", threshold: "Threshold" };
  const nameOf = (names, key) => names[key] ?? key;
  const asNumber = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

  function renderEvaluation() {
    const panel = d3.select("#evaluation");
    panel.selectAll("*").remove();
    const evaluation = data.evaluation;
    if (!evaluation) return void panel.append("p").attr("class", "empty").text("No evaluation given (conceptree report --evaluation eval.json, from conceptree evaluate --json).");
    if (evaluation.truth) {
      const truth = evaluation.truth, methods = Object.keys(truth.methods);
      const metrics = [...new Set(methods.flatMap((m) => Object.keys(truth.methods[m])))];
      panel.append("h3").text("Against the true taxonomy").append("span").attr("class", "hint")
        .text([truth.file, truth.matched != null ? `${formatNumber(truth.matched)} concepts matched` : null].filter(Boolean).join(" · "));
      // Every truth metric is better when higher: the best method of each row is marked.
      const rows = metrics.map((metric) => {
        const values = methods.map((m) => asNumber(truth.methods[m][metric]));
        const best = d3.max(values);
        return [nameOf(metricNames, metric), ...values.map((v, k) => ({ text: v === null ? String(truth.methods[methods[k]][metric] ?? "—") : formatShare(v), best: v !== null && v === best && methods.length > 1 }))];
      });
      table(panel, ["metric", ...methods.map((m) => nameOf(methodNames, m))], rows);
    }
    if (evaluation.proxy) {
      const proxy = evaluation.proxy, methods = Object.keys(proxy.methods);
      panel.append("h3").text("Proxy distance of parent → child links").append("span").attr("class", "hint")
        .text([proxy.file, proxy.metric ? `metric ${proxy.metric}` : null].filter(Boolean).join(" · "));
      const means = methods.map((m) => asNumber(proxy.methods[m].mean));
      const best = proxy.metric === "l2" ? d3.min(means) : proxy.metric === "cosine" ? d3.max(means) : null;
      const rows = methods.map((m, k) => {
        const result = proxy.methods[m], mean = means[k], ci = asNumber(result.ci95);
        return [nameOf(methodNames, m), { text: mean === null ? "—" : formatShare(mean) + (ci === null ? "" : ` ± ${formatShare(ci)}`), best: mean !== null && mean === best && methods.length > 1 },
          result.n == null ? "—" : formatNumber(result.n)];
      });
      table(panel, ["method", "mean ± 95 % CI", "links"], rows);
    }
  }

  function table(parent, header, rows) {
    const t = parent.append("div").attr("class", "table-wrap").append("table");
    t.append("thead").append("tr").selectAll("th").data(header).join("th").text((d) => d);
    t.append("tbody").selectAll("tr").data(rows).join("tr").selectAll("td").data((r) => r).join("td")
      .text((d) => (typeof d === "object" ? d.text : d)).classed("best", (d) => typeof d === "object" && d.best).classed("number", (d, k) => k > 0);
  }

  // ---------------------------------------------------------------- start
  function hashValue(name) {
    const match = location.hash.match(new RegExp(`^#${name}=(.*)$`));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function runSelftest(query) {
    expandAll();
    renderTree();
    const hits = search(query);
    if (hits.length) select(hits[0], { reveal: true });
    const treeConcepts = new Set(d3.selectAll("#tree div.row").data().map((d) => d.concept));
    const result = {
      concepts: concepts.length,
      hierarchy_concepts: inTree.filter(Boolean).length,
      rendered_nodes: treeConcepts.size,
      tree_rows: d3.selectAll("#tree div.row").size(),
      map_points: new Set(d3.selectAll("#map circle.point").data()).size,
      histogram_bars: d3.selectAll("#histogram rect.bin").size(),
      evaluation_tables: d3.selectAll("#evaluation table").size(),
      explanations_link: d3.select("#explanations-link").attr("hidden") === null ? d3.select("#explanations-link").attr("href") : null,
      search_hits: hits.map((i) => concepts[i].id),
      selected: selected === null ? null : concepts[selected].id,
      detail_title: selected === null ? null : d3.select("#detail h2").text(),
      detail_accuracy: selected === null ? null : d3.selectAll("#detail dd").nodes().map((n) => n.textContent)[1],
      detail_badges: d3.selectAll("#detail .badge").nodes().map((n) => n.textContent),
      weak_marks: new Set(d3.selectAll("#tree .weak-mark").data().map((d) => d.concept)).size,
      weak_concepts: concepts.filter((c, i) => c.weak === true && treeConcepts.has(i)).length,
      support_marks: d3.selectAll("#tree .support").size(),
      milliseconds: Math.round(performance.now()),
      errors: window.reportErrors,
    };
    if (hasSupport) {
      setSupportFilter(1.01);
      result.roots_with_every_link_filtered = roots.length;
      setSupportFilter(0);
      result.roots_unfiltered = roots.length;
    }
    d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify(result));
  }

  function setSupportFilter(minSupport) {
    buildStructure(minSupport);
    expanded.clear();
    d3.select("#support-value").text(formatShare(Math.min(minSupport, 1)));
    d3.select("#tree").selectAll("div.row").remove();
    renderTree();
    if (selected !== null) renderDetail();
  }

  function start() {
    renderHeader();
    renderTree();
    renderDetail();
    renderMap();
    renderHistogram();
    renderEvaluation();
    let pending = null;
    d3.select("#search").on("input", (event) => { clearTimeout(pending); pending = setTimeout(() => search(event.target.value), 120); })
      .on("keydown", (event) => { if (event.key === "Enter" && search(event.target.value).length) select(searchHits[0], { reveal: true }); });
    d3.select("#expand-all").on("click", () => { expandAll(); renderTree(); });
    d3.select("#tree").on("click", onTreeClick);
    d3.select("#collapse-all").on("click", () => { expanded.clear(); renderTree(); });
    if (hasSupport) {
      d3.select("#support-filter").attr("hidden", null);
      d3.select("#support-min").on("input", (event) => setSupportFilter(Number(event.target.value)));
    }
    let resizing = null;
    window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(() => { renderMap(); renderHistogram(); }, 150); });

    const selftest = hashValue("selftest"), query = hashValue("search"), linked = hashValue("concept");
    if (selftest !== null) {
      runSelftest(selftest);
    } else if (query !== null) {
      d3.select("#search").property("value", query);
      const hits = search(query);
      if (hits.length) select(hits[0], { reveal: true });
    } else if (linked !== null) {
      const i = concepts.findIndex((c) => c.id === linked);
      if (i >= 0) select(i, { reveal: true });
    }
  }

  try {
    start();
  } catch (error) {
    window.reportErrors.push(String(error && error.stack ? error.stack : error));
    if (location.hash.startsWith("#selftest=")) d3.select("body").append("pre").attr("id", "selftest").text(JSON.stringify({ errors: window.reportErrors }));
    throw error;
  }
})();
