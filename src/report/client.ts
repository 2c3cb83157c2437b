/**
 * The report page's own script, as text: it renders the charts with vega-embed, the comparison
 * lists and the query list (built lazily: a query's hits and thoughts are created when its
 * <details> is first opened, and the list is shown 200 queries at a time, so SciFact's 300 or
 * MS MARCO's 7,000 queries stay fast). It reads the data only through textContent and builds
 * every element with textContent, never innerHTML, so no text from a run can become markup.
 *
 * Plain ES2020 without template literals (this file holds it in one), run in the browser.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var charts = JSON.parse(document.getElementById('report-charts').textContent);
  var PAGE = 200;
  var views = {};
  var queryIndex = new Map(data.queries.map(function (query, index) { return [query.id, index]; }));
  var primary = data.measures[0].name;
  // Query ids in natural order (2 before 10), which reads better than trec_eval's strcmp order.
  var collator = new Intl.Collator('en', { numeric: true });
  function byId(left, right) { return collator.compare(data.queries[left].id, data.queries[right].id) || left - right; }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fixed(value) { return value === null || value === undefined ? '–' : value.toFixed(4); }
  function signed(value) { return (value > 0 ? '+' : value < 0 ? '−' : '±') + Math.abs(value).toFixed(4); }
  function swatch(system) {
    var node = element('span', 'swatch');
    node.style.background = data.systems[system].color;
    return node;
  }

  function embed(container, key) {
    var previous = views[container.id];
    if (previous) previous.finalize();
    container.dataset.rendered = 'false';
    return vegaEmbed(container, charts[key], { mode: 'vega-lite', renderer: 'svg', actions: false }).then(function (result) {
      views[container.id] = result;
      container.dataset.rendered = 'true';
      container.dataset.chart = key;
      if (key.indexOf('comparison:') === 0) {
        result.view.addEventListener('click', function (event, item) {
          if (item && item.datum && typeof item.datum.query === 'string') openQuery(item.datum.query);
        });
      }
      return result;
    });
  }

  // Comparisons against the first system: one chart and two lists per other system.
  var measureSelect = document.getElementById('comparison-measure');
  function renderComparisons() {
    var measure = measureSelect ? measureSelect.value : primary;
    var jobs = [];
    for (var system = 1; system < data.systems.length; system++) {
      var comparison = data.comparisons.find(function (entry) { return entry.system === data.systems[system].name && entry.measure === measure; });
      jobs.push(embed(document.getElementById('comparison-chart-' + system), 'comparison:' + system + ':' + measure));
      var lists = document.getElementById('comparison-lists-' + system);
      lists.replaceChildren(
        differenceList('Biggest wins of ' + comparison.system, comparison.differences.filter(function (entry) { return entry.delta > 0; }).slice(0, 10), 'wins'),
        differenceList('Biggest losses of ' + comparison.system, comparison.differences.filter(function (entry) { return entry.delta < 0; }).reverse().slice(0, 10), 'losses'));
      document.getElementById('comparison-counts-' + system).textContent =
        comparison.wins + ' wins, ' + comparison.ties + ' ties, ' + comparison.losses + ' losses over ' + comparison.differences.length + ' queries';
    }
    return Promise.all(jobs);
  }
  function differenceList(title, entries, kind) {
    var box = element('div', 'difference-list ' + kind);
    box.appendChild(element('h4', null, title));
    if (entries.length === 0) { box.appendChild(element('p', 'muted', 'none')); return box; }
    var list = element('ol');
    entries.forEach(function (entry) {
      var item = element('li');
      var link = element('a', 'query-link', entry.query);
      link.href = '#q-' + queryIndex.get(entry.query);
      link.addEventListener('click', function (event) { event.preventDefault(); openQuery(entry.query); });
      item.appendChild(link);
      item.appendChild(element('span', 'delta ' + kind, signed(entry.delta)));
      item.appendChild(element('span', 'muted', fixed(entry.baseline) + ' → ' + fixed(entry.value)));
      item.appendChild(element('span', 'list-text', data.queries[queryIndex.get(entry.query)].text));
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }
  if (measureSelect) measureSelect.addEventListener('change', function () { renderComparisons().catch(reportError); });

  // The query list: filter, sort, pages of PAGE, details built when first opened.
  var filterInput = document.getElementById('query-filter');
  var sortSelect = document.getElementById('query-sort');
  var listNode = document.getElementById('query-list');
  var moreButton = document.getElementById('query-more');
  var countNode = document.getElementById('query-count');
  var order = [];
  var shown = 0;

  function value(query, system, measure) {
    var values = query.values[system];
    return values ? values[measure] : null;
  }
  function sortKey() {
    var parts = sortSelect.value.split(':');
    return { kind: parts[0], system: Number(parts[1]) };
  }
  function computeOrder() {
    var needle = filterInput.value.trim().toLowerCase();
    var indexes = [];
    data.queries.forEach(function (query, index) {
      if (needle === '' || query.id.toLowerCase().indexOf(needle) >= 0 || query.text.toLowerCase().indexOf(needle) >= 0) indexes.push(index);
    });
    var key = sortKey();
    var score = null;
    if (key.kind === 'value') score = function (query) { var v = value(query, key.system, primary); return v === null ? Infinity : v; };
    if (key.kind === 'loss' || key.kind === 'win') {
      score = function (query) {
        var before = value(query, 0, primary), after = value(query, key.system, primary);
        if (before === null || after === null) return Infinity;
        return key.kind === 'loss' ? after - before : before - after;
      };
    }
    if (score) indexes.sort(function (left, right) { return score(data.queries[left]) - score(data.queries[right]) || byId(left, right); });
    else indexes.sort(byId);
    return indexes;
  }
  function renderList(minimum) {
    order = computeOrder();
    shown = 0;
    listNode.replaceChildren();
    showMore(Math.max(PAGE, minimum || 0));
  }
  function showMore(count) {
    var fragment = document.createDocumentFragment();
    var end = Math.min(order.length, shown + count);
    for (var position = shown; position < end; position++) fragment.appendChild(querySummary(order[position]));
    listNode.appendChild(fragment);
    shown = end;
    countNode.textContent = 'showing ' + shown + ' of ' + order.length + ' queries' + (order.length < data.queries.length ? ' (filtered from ' + data.queries.length + ')' : '');
    moreButton.hidden = shown >= order.length;
    moreButton.textContent = 'show ' + Math.min(PAGE, order.length - shown) + ' more';
  }
  function querySummary(index) {
    var query = data.queries[index];
    var details = element('details', 'query');
    details.id = 'q-' + index;
    details.dataset.query = query.id;
    var summary = element('summary');
    summary.appendChild(element('span', 'query-id', query.id));
    summary.appendChild(element('span', 'query-text', query.text || '(no text)'));
    var chips = element('span', 'chips');
    data.systems.forEach(function (system, position) {
      var chip = element('span', 'chip');
      chip.title = system.name + ' ' + data.measures[0].label;
      chip.appendChild(swatch(position));
      chip.appendChild(document.createTextNode(fixed(value(query, position, primary))));
      chips.appendChild(chip);
    });
    summary.appendChild(chips);
    details.appendChild(summary);
    details.addEventListener('toggle', function () {
      if (details.open && !details.dataset.built) {
        details.appendChild(queryBody(query));
        details.dataset.built = 'true';
      }
    });
    return details;
  }
  function queryBody(query) {
    var body = element('div', 'query-body');
    body.appendChild(element('p', 'full-text', query.text || '(the query text is not in the queries file)'));
    body.appendChild(element('p', 'muted', query.relevant + ' relevant document' + (query.relevant === 1 ? '' : 's') + ' judged'));
    var grid = element('div', 'systems-grid');
    data.systems.forEach(function (system, position) {
      var column = element('section', 'system-column');
      column.dataset.system = String(position);
      var heading = element('h4');
      heading.appendChild(swatch(position));
      heading.appendChild(document.createTextNode(system.name));
      column.appendChild(heading);
      var values = query.values[position];
      column.appendChild(element('p', 'values', values
        ? data.measures.map(function (measure) { return measure.label + ' ' + fixed(values[measure.name]); }).join(' · ')
        : 'not evaluated (no hits for this query)'));
      var thoughts = query.thoughts[position];
      if (thoughts) {
        var box = element('div', 'thoughts');
        box.appendChild(element('h5', null, thoughts.length === 1 ? 'What the system thought' : 'What the system thought (' + thoughts.length + ' thoughts)'));
        var list = element('ol');
        thoughts.forEach(function (thought) { list.appendChild(element('li', 'thought', thought)); });
        box.appendChild(list);
        column.appendChild(box);
      } else if (system.hasThoughts) {
        column.appendChild(element('p', 'muted', 'no thoughts for this query'));
      }
      var ranks = query.relevantRanks[position];
      var retrieved = query.relevantRetrieved[position];
      column.appendChild(element('p', 'relevant-ranks', retrieved === 0
        ? 'no relevant document retrieved'
        : retrieved + ' of ' + query.relevant + ' relevant retrieved, at rank' + (ranks.length === 1 ? ' ' : 's ') + ranks.join(', ') + (retrieved > ranks.length ? ', …' : '')));
      var hits = element('ol', 'hits');
      query.hits[position].forEach(function (hit) {
        var item = element('li', 'hit');
        var relevance = hit[2];
        item.classList.add(relevance === null ? 'unjudged' : relevance > 0 ? 'relevant' : 'non-relevant');
        item.dataset.relevance = relevance === null ? '' : String(relevance);
        var line = element('div', 'hit-line');
        line.appendChild(element('span', 'badge', relevance === null ? 'unjudged' : relevance > 0 ? 'relevant (' + relevance + ')' : 'judged ' + relevance));
        var documentInfo = data.documents[hit[0]];
        line.appendChild(element('span', 'hit-title', documentInfo && documentInfo.title ? documentInfo.title : hit[0]));
        item.appendChild(line);
        item.appendChild(element('div', 'hit-meta', hit[0] + ' · score ' + (typeof hit[1] === 'number' ? hit[1].toFixed(4) : '')));
        if (documentInfo && documentInfo.snippet) item.appendChild(element('div', 'snippet', documentInfo.snippet));
        hits.appendChild(item);
      });
      if (query.hits[position].length === 0) column.appendChild(element('p', 'muted', 'no hits'));
      column.appendChild(hits);
      grid.appendChild(column);
    });
    body.appendChild(grid);
    return body;
  }
  function openQuery(id) {
    var index = queryIndex.get(id);
    if (index === undefined) return;
    var details = document.getElementById('q-' + index);
    if (!details) {
      filterInput.value = '';
      var position = computeOrder().indexOf(index);
      renderList(position + 1);
      details = document.getElementById('q-' + index);
    }
    details.open = true;
    details.scrollIntoView({ block: 'start' });
  }
  filterInput.addEventListener('input', function () { renderList(0); });
  sortSelect.addEventListener('change', function () { renderList(0); });
  moreButton.addEventListener('click', function () { showMore(PAGE); });

  function reportError(error) {
    console.error(error);
    document.body.dataset.chartsReady = 'error';
  }
  renderList(0);
  var chartsDone = [embed(document.getElementById('metrics-chart'), 'metrics'), embed(document.getElementById('distribution-chart'), 'distribution')];
  if (data.systems.length > 1) chartsDone.push(renderComparisons());
  Promise.all(chartsDone).then(function () { document.body.dataset.chartsReady = 'true'; }, reportError);
})();
`;
