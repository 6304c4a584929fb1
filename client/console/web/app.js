// File: client/console/web/app.js
//
// The console's page: overview, entries, case timeline. It reads the
// console's JSON API (proto/silta/console/console.proto) and builds the
// page with DOM calls only (never innerHTML), so that no text from the log
// can become markup. Every entry shown is checked by verify.js, and marked
// verified or not; a head or proof that fails is red, never green.
'use strict';

(() => {
  const T = (key) => SiltaI18n.t(key);
  const V = SiltaVerify;
  let session = null;
  // The HETU of the entries filter, kept only here (see entriesPage).
  let subjectHetu = '';
  let logKey = null;

  // ---- DOM helpers ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class')
        node.className = v;
      else if (k === 'text')
        node.textContent = v;
      else if (k.startsWith('on'))
        node.addEventListener(k.slice(2), v);
      else
        node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function main() {
    return document.getElementById('main');
  }
  // Replaces `node`'s children; arrays are flattened, null and false skipped.
  function fill(node, ...kids) {
    node.replaceChildren(
        ...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  }
  function show(...nodes) {
    fill(main(), ...nodes);
  }
  function errorBox(err) {
    return el('p', {class: 'error', role: 'alert'}, T('error') + ': ' + err.message);
  }
  function statusMark(ok, text) {
    return el(
        'span', {class: ok ? 'ok status-ok' : 'bad status-bad', 'data-verified': String(ok)}, text);
  }
  function fmtTime(ts) {
    if (!ts) return '';
    const d = new Date(ts);
    const locale = {fi: 'fi-FI', sv: 'sv-FI', en: 'en-GB'}[SiltaI18n.lang];
    return d.toLocaleString(locale, {dateStyle: 'short', timeStyle: 'medium'});
  }
  function categoriesText(cats) {
    return (cats || []).map((c) => SiltaI18n.categoryName(c)).join(', ');
  }
  function basisText(e) {
    let text = SiltaI18n.ruleName(e.rule || 0);
    if (e.rule_id) text += ' ' + e.rule_id;
    if (e.statute_citation) text += ' (' + e.statute_citation + ')';
    return text.trim();
  }

  class ApiError extends Error {}
  async function api(path) {
    const response =
        await fetch(path, {credentials: 'same-origin', headers: {Accept: 'application/json'}});
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.message ? (body.code + ': ' + body.message) :
                                             response.status + ' ' + response.statusText;
      throw new ApiError(message);
    }
    return body;
  }

  // ---- Verification ----
  async function checkHead(head) {
    return V.verifyTreeHead(head, logKey, session.log_id || '');
  }
  // Checks every ProvenEntry of `proven` and marks its row.
  async function verifyAll(proven, marks) {
    const head = proven.head || {};
    const headResult = await checkHead(head);
    let good = 0;
    const results = [];
    for (const item of proven.entries || []) {
      const result = await V.verifyEntry(item, head, headResult);
      results.push(result);
      if (result.ok) good++;
    }
    results.forEach((r, i) => marks[i] && marks[i](r));
    return {good, total: results.length, headResult};
  }
  function markInto(cell) {
    return (result) => {
      cell.replaceChildren(statusMark(result.ok, result.ok ? T('verified') : T('not_verified')));
      if (!result.ok) cell.append(el('div', {class: 'reason'}, result.reason));
    };
  }

  // ---- Overview ----
  async function overviewPage() {
    const data = await api('/api/overview');
    const head = data.head || {};
    const headResult = await checkHead(head);
    const history = data.history || {};
    const stateNames = {1: 'FIRST_SEEN', 2: 'CONSISTENT', 3: 'INCONSISTENT', 4: 'BAD_SIGNATURE'};
    let state = stateNames[history.state] || 'INCONSISTENT';
    // The page checks the console's consistency verdict itself.
    if (state === 'CONSISTENT' && history.previous && history.proof) {
      const p = history.previous;
      const ok = await V.verifyConsistency(
          p.tree_size || 0, head.tree_size || 0, (history.proof.path || []).map(V.b64),
          V.b64(p.root_hash), V.b64(head.root_hash));
      if (!ok) state = 'INCONSISTENT';
    }
    if (!headResult.ok) state = 'BAD_SIGNATURE';
    const good = state === 'FIRST_SEEN' || state === 'CONSISTENT';
    const counts = (data.counts || [])
                       .map(
                           (c) =>
                               el('tr', {}, el('th', {scope: 'row'}, SiltaI18n.eventName(c.type)),
                                  el('td', {}, c.today || '0'), el('td', {}, c.week || '0'),
                                  el('td', {}, c.month || '0')));
    show(
        el('h1', {}, T('overview')),
        el('div', {class: 'cards'},
           el('section', {class: 'card', 'aria-labelledby': 'size-h'},
              el('h2', {id: 'size-h'}, T('log_size')),
              el('p', {class: 'big', id: 'log-size'}, head.tree_size || '0')),
           el('section', {class: 'card', 'aria-labelledby': 'head-h'},
              el('h2', {id: 'head-h'}, T('latest_head')),
              el('dl', {class: 'entry'}, el('dt', {}, T('signed_at')),
                 el('dd', {}, fmtTime(head.timestamp)), el('dt', {}, T('root')),
                 el('dd', {class: 'mono', id: 'head-root'}, V.hex(V.b64(head.root_hash))),
                 el('dt', {}, T('key_id')), el('dd', {class: 'mono'}, head.log_key_id || ''),
                 el('dt', {}, T('log_id')), el('dd', {}, head.log_id || ''),
                 el('dt', {}, T('head_signature')),
                 el('dd', {id: 'head-status'},
                    statusMark(
                        headResult.ok,
                        headResult.ok ? T('verified') :
                                        T('not_verified') + ': ' + headResult.reason)))),
           el('section', {class: 'card', 'aria-labelledby': 'hist-h'},
              el('h2', {id: 'hist-h'}, T('history')),
              el('p', {id: 'history-status'}, statusMark(good, T(state))),
              history.detail ? el('p', {}, history.detail) : null,
              el('p', {}, (history.heads_kept || 0) + ' ' + T('heads_kept')))),
        el('section', {'aria-labelledby': 'counts-h'}, el('h2', {id: 'counts-h'}, T('counts')),
           data.counts_capped ? el('p', {}, T('capped')) : null,
           el('div', {class: 'scroll'},
              el('table', {id: 'counts'},
                 el('thead', {},
                    el('tr', {}, el('th', {scope: 'col'}, T('event')),
                       el('th', {scope: 'col'}, T('today')), el('th', {scope: 'col'}, T('week')),
                       el('th', {scope: 'col'}, T('month')))),
                 el('tbody', {}, counts)))));
  }

  // ---- Entries ----
  // `headSize`: the size of the head the entry's proof was checked against
  // (each page of entries comes with its own head).
  function entryDetail(item, result, headSize) {
    const e = item.entry || {};
    const user = e.acting_user || {};
    const rows = [
      ['index', e.index || '0'],
      ['time', e.at],
      ['event_type', SiltaI18n.eventName(e.type)],
      ['by', e.actor_org_id],
      ['worker', [user.worker_id, user.role].filter(Boolean).join(' / ')],
      ['counterpart', e.counterpart_org_id],
      ['purpose', e.purpose],
      ['subject_ref', e.subject_ref],
      ['case_id', e.case_id],
      ['message', e.message_id],
      ['categories', categoriesText(e.categories)],
      ['basis', basisText(e)],
      ['detail', e.detail],
    ];
    const dl = el('dl', {class: 'entry'});
    for (const [k, v] of rows) {
      if (!v) continue;
      dl.append(el('dt', {}, T(k)), el('dd', {}, v));
    }
    dl.append(
        el('dt', {}, T('leaf_hash')),
        el('dd', {class: 'mono'}, result && result.leaf ? result.leaf : ''));
    dl.append(
        el('dt', {}, T('inclusion')),
        el('dd', {},
           item.proof_error ?
               item.proof_error :
               (item.path || []).length + ' ' + T('hashes') + ', ' + T('against') + ' ' +
                   '' + (headSize || '') + ' ' + T('entries_word')));
    for (const h of item.path || [])
      dl.append(el('dt', {}, ''), el('dd', {class: 'mono'}, V.hex(V.b64(h))));
    return dl;
  }
  function entriesTable(proven, tbody, summary) {
    const headSize = (proven.head || {}).tree_size || '';
    const marks = [];
    const results = [];
    (proven.entries || []).forEach((item, i) => {
      const e = item.entry || {};
      const status = el('td', {class: 'proof'}, T('checking'));
      const detailRow = el('tr', {class: 'detail', hidden: true}, el('td', {colspan: '9'}));
      const button =
          el('button', {
            type: 'button',
            'aria-expanded': 'false',
            'aria-label': T('show') + ' ' + T('details').toLowerCase() + ' ' + (e.index || '0'),
            onclick: () => {
              const open = button.getAttribute('aria-expanded') === 'true';
              button.setAttribute('aria-expanded', String(!open));
              detailRow.hidden = open;
              if (!open)
                detailRow.firstChild.replaceChildren(entryDetail(item, results[i], headSize));
            }
          },
             e.index || '0');
      tbody.append(
          el('tr', {class: 'entry-row', 'data-index': e.index || '0'}, el('td', {}, button),
             el('td', {}, fmtTime(e.at)), el('td', {}, SiltaI18n.eventName(e.type)),
             el('td', {}, e.actor_org_id || ''), el('td', {}, e.counterpart_org_id || ''),
             el('td', {class: 'mono'}, e.case_id || ''), el('td', {}, categoriesText(e.categories)),
             el('td', {}, basisText(e)), status),
          detailRow);
      marks.push((r) => {
        results[i] = r;
        markInto(status)(r);
      });
    });
    return verifyAll(proven, marks).then((r) => {
      const prev = summary.dataset;
      const good = Number(prev.good || 0) + r.good;
      const total = Number(prev.total || 0) + r.total;
      prev.good = good;
      prev.total = total;
      summary.replaceChildren(statusMark(
          good === total && r.headResult.ok,
          T('verify_summary') + ': ' + good + ' ' + T('of') + ' ' + total));
      if (!r.headResult.ok)
        summary.append(el('div', {}, T('head_bad') + ' ' + r.headResult.reason));
    });
  }

  function option(value, text, selected) {
    return el('option', {value, selected: selected ? 'selected' : false}, text);
  }

  async function entriesPage(params) {
    const filters = new URLSearchParams(params);
    const field = (name, label, input) => el('div', {}, el('label', {for: 'f-' + name
                                             }, label), input);
    const typeSelect =
        el('select', {id: 'f-types', name: 'types'}, option('', T('any')),
           Object.keys(SiltaI18n.EVENT_NAMES)
               .map((n) => option(n, SiltaI18n.eventName(Number(n)), filters.get('types') === n)));
    const catSelect =
        el('select', {id: 'f-categories', name: 'categories'}, option('', T('any')),
           Object.keys(SiltaI18n.CATEGORY_NAMES)
               .map(
                   (n) => option(
                       n, SiltaI18n.categoryName(Number(n)), filters.get('categories') === n)));
    const text = (name, type) => el('input', {
      id: 'f-' + name,
      name,
      type: type || 'text',
      value: filters.get(name) || '',
      autocomplete: 'off'
    });
    // A person's HETU filters in a POST body only: it stays in this page's
    // memory, never in the address, the history or the browser's storage.
    const hetuInput = el('input', {
      id: 'f-hetu',
      type: 'text',
      value: filters.get('subject') ? subjectHetu : '',
      autocomplete: 'off',
      spellcheck: 'false'
    });
    const form = el(
        'form', {class: 'filters', method: 'post', 'aria-label': T('filters')},
        field('from', T('from'), text('from', 'date')),
        field('until', T('until'), text('until', 'date')),
        field('types', T('event_type'), typeSelect), field('org_id', T('org'), text('org_id')),
        field('case_id', T('case_id'), text('case_id')),
        field('categories', T('category'), catSelect),
        field('purpose', T('purpose'), text('purpose')),
        field('statute', T('statute'), text('statute')), field('hetu', T('person_hetu'), hetuInput),
        el('div', {}, el('button', {type: 'submit', id: 'apply'}, T('apply'))),
        el('div', {},
           el('button', {
             type: 'button',
             id: 'clear',
             onclick: () => {
               location.hash = '#entries';
             }
           },
              T('clear'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const next = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries())
        if (v) next.set(k, v);
      subjectHetu = hetuInput.value.trim();
      if (subjectHetu) next.set('subject', '1');
      const hash = '#entries?' + next.toString();
      if (location.hash === hash)
        route();
      else
        location.hash = hash;
    });
    const tbody = el('tbody', {});
    const summary = el('p', {id: 'verify-summary', role: 'status'});
    const more = el('button', {type: 'button', id: 'more', hidden: true}, T('more'));
    const empty = el('p', {id: 'no-entries', hidden: true}, T('no_entries'));
    show(
        el('h1', {}, T('entries')), form, summary,
        el('div', {class: 'scroll'},
           el('table', {id: 'entries'},
              el('thead', {},
                 el('tr', {},
                    [
                      'index', 'time', 'event', 'by', 'counterpart', 'case_id', 'categories',
                      'basis', 'proof'
                    ].map((k) => el('th', {scope: 'col'}, T(k))))),
              tbody)),
        empty, more);
    let token = '';
    const load = async () => {
      const q = new URLSearchParams(filters);
      if (token) q.set('page_token', token);
      q.delete('subject');
      const proven = filters.get('subject') && subjectHetu ?
          await post('/api/entries', {query: q.toString(), hetu: subjectHetu}) :
          await api('/api/entries?' + q.toString());
      await entriesTable(proven, tbody, summary);
      token = proven.next_page_token || '';
      more.hidden = !token;
      empty.hidden = tbody.children.length > 0;
    };
    more.addEventListener('click', () => load().catch((e) => main().append(errorBox(e))));
    await load();
  }

  // ---- Case timeline ----
  function timelineItem(e) {
    const type = SiltaI18n.EVENT_NAMES[e.type] || '';
    const who = e.actor_org_id || '';
    const other = e.counterpart_org_id || '';
    const cats = categoriesText(e.categories);
    let text;
    let kind = '';
    switch (type) {
      case 'MESSAGE_ACCEPTED':
        text = `${who} ${T('sent')}: ${cats}`;
        break;
      case 'FIELD_WITHHELD':
        text = `${cats} ${T('withheld')} ${other}; ${T('because')}: ${basisText(e)}`;
        kind = 'withheld';
        break;
      case 'STATUTORY_BASIS_USED':
        text = `${who} → ${other}: ${cats}; ${T('because')}: ${basisText(e)}`;
        break;
      case 'MESSAGE_DELIVERED':
        text = `${T('delivered_to')} ${other}: ${cats}`;
        kind = 'delivered';
        break;
      case 'MESSAGE_ACKED':
        text = `${T('acked_by')} ${who}`;
        kind = 'delivered';
        break;
      case 'CONSENT_GIVEN':
      case 'CONSENT_WITHDRAWN':
      case 'REFUSAL_RECORDED':
      case 'REFUSAL_WITHDRAWN':
      case 'COMPETENCE_ASSESSED':
      case 'COMPETENCE_ASSESSMENT_WITHDRAWN':
        text = `${SiltaI18n.eventName(e.type)}: ${cats}${other ? ' → ' + other : ''}${
            e.rule_id ? ' (' + e.rule_id + ')' : ''}`;
        kind = 'consent';
        break;
      default:
        text = `${SiltaI18n.eventName(e.type)}: ${who}${other ? ' → ' + other : ''}`;
    }
    return {text, kind};
  }

  async function casePage(params) {
    const caseId = new URLSearchParams(params).get('id') || '';
    const input =
        el('input', {id: 'case-id', name: 'id', value: caseId, autocomplete: 'off', size: '40'});
    const form =
        el('form', {class: 'filters', 'aria-label': T('case_title')},
           el('div', {}, el('label', {for: 'case-id'
              }, T('case_id')), input), el('div', {}, el('button', {type: 'submit'}, T('show'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.hash = '#case?id=' + encodeURIComponent(input.value.trim());
    });
    const list = el('ol', {class: 'timeline', id: 'timeline'});
    const summary = el('p', {id: 'verify-summary', role: 'status'});
    show(el('h1', {}, T('case_title')), form, summary, list);
    if (!caseId) return;
    const proven = await api('/api/case?case_id=' + encodeURIComponent(caseId));
    const marks = [];
    for (const item of proven.entries || []) {
      const e = item.entry || {};
      const {text, kind} = timelineItem(e);
      const mark = el('span', {class: 'proof'}, T('checking'));
      list.append(
          el('li', {
            class: kind,
            'data-index': e.index || '0',
            'data-type': SiltaI18n.EVENT_NAMES[e.type] || ''
          },
             el('time', {datetime: e.at || ''}, fmtTime(e.at)), ' — ', text, ' ', mark));
      marks.push(markInto(mark));
    }
    const r = await verifyAll(proven, marks);
    summary.replaceChildren(statusMark(
        r.good === r.total && r.headResult.ok,
        T('verify_summary') + ': ' + r.good + ' ' + T('of') + ' ' + r.total));
  }

  // ---- POST helper ----
  async function post(path, body) {
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {'Content-Type': 'application/json', 'X-Silta-CSRF': session.csrf_token},
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      throw new ApiError(
          data && data.message ? data.code + ': ' + data.message :
                                 response.status + ' ' + response.statusText);
    }
    return data;
  }
  function table(id, headers, rows) {
    return el(
        'div', {class: 'scroll'},
        el('table', {id},
           el('thead', {}, el('tr', {}, headers.map((h) => el('th', {scope: 'col'}, h)))),
           el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))))));
  }

  // ---- Subject report ----
  // The report comes as siltad gives it and is worded here, in the user's
  // language. The English words are siltactl's (client/reports/), so that
  // a report reads the same in both; the tests compare them.
  function words(key, values) {
    return T(key).replace(/\{(\w+)\}/g, (m, name) => String(values[name] ?? ''));
  }
  function disclosureBasisText(d) {
    const rule = d.basis || 0;
    const ref = d.basis_reference || '';
    if (rule === 3) return SiltaI18n.ruleName(rule) + ': ' + ref;  // the law's citation
    if (rule === 1 || rule === 2) return (SiltaI18n.ruleName(rule) + ' ' + ref).trim();
    return SiltaI18n.ruleName(rule);
  }
  function outcomeText(d) {
    if (d.withheld) return T('outcome_withheld');
    let text = T(d.confirmed ? 'outcome_confirmed' : 'outcome_unconfirmed');
    if ((d.attempts || 0) > 1) text += ', ' + words('outcome_attempts', {n: d.attempts});
    return text;
  }
  function receiptsText(report) {
    const disclosed = (report.disclosures || []).filter((d) => !d.withheld).length;
    return words('report_receipts', {confirmed: report.confirmed_receipts || 0, disclosed});
  }
  function reportNotes(report) {
    const notes = (report.left_out_controllers || []).map((c) => words('report_left_out', {
                                                            entries: c.entries || 0,
                                                            org: c.org || '',
                                                            whom: (c.ask || '').replace(/^ask /, '')
                                                          }));
    for (const r of report.restrictions || []) {
      notes.push(words(
          'report_restricted',
          {entries: r.entries || 0, ground: r.ground || '', review: fmtTime(r.review_at)}));
    }
    if (report.forbidden_to_guardian_left_out) notes.push(T('report_forbidden_to_guardian'));
    return notes;
  }

  // The HETU is typed here and sent in a POST body: never in the address,
  // the history, or anything the console writes down.
  async function reportPage() {
    const hetu = el('input', {
      id: 'hetu',
      name: 'hetu',
      type: 'text',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'hetu-help'
    });
    const requester =
        el('select', {id: 'requester', name: 'requester'}, option('1', T('requester_subject')),
           option('2', T('requester_guardian')), option('3', T('requester_representative')));
    const lawEnforcement =
        el('input', {id: 'law', name: 'include_law_enforcement', type: 'checkbox'});
    const result = el('section', {id: 'report', 'aria-live': 'polite'});
    const form =
        el('form', {
          class: 'filters',
          method: 'post',
          action: '/api/report',
          autocomplete: 'off',
          'aria-label': T('report_title')
        },
           el('div', {},
              el('label',
                 {for: 'hetu'
                 },
                 T('hetu')),
              hetu, el('small', {id: 'hetu-help'}, T('hetu_help'))),
           el('div', {},
              el('label',
                 {for: 'requester'
                 },
                 T('requester')),
              requester),
           el('div', {class: 'check'},
              el('span', {}, lawEnforcement,
                 el('label',
                    {for: 'law'
                    },
                    ' ' + T('include_law_enforcement')))),
           el('div', {}, el('button', {type: 'submit', id: 'produce'}, T('produce'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      result.replaceChildren(el('p', {}, T('loading')));
      try {
        const report = await post('/api/report', {
          hetu: hetu.value.trim(),
          requester: Number(requester.value),
          include_law_enforcement: lawEnforcement.checked
        });
        const lines = report.disclosures || [];
        const events = report.events || [];
        fill(
            result, el('h2', {}, T('report_heading')), el('p', {}, T('report_intro')),
            table(
                'disclosures',
                ['when', 'from_org', 'to_org', 'information', 'purpose', 'basis', 'outcome'].map(T),
                lines.length ? lines.map(
                                   (d) =>
                                       [fmtTime(d.at), d.from_org || '', d.to_org || '',
                                        categoriesText(d.categories), d.purpose || '',
                                        disclosureBasisText(d), outcomeText(d)]) :
                               [['–', '', '', '', '', '', T('no_disclosures')]]),
            el('p', {id: 'receipts'}, receiptsText(report)),
            events.length ? el('h3', {}, T('other_processing')) : null,
            events.length ?
                table(
                    'events', ['when', 'by', 'what', 'other_party', 'purpose', 'detail'].map(T),
                    events.map(
                        (e) =>
                            [fmtTime(e.at), e.by_org || '', SiltaI18n.eventName(e.type || 0),
                             e.other_org || '', e.purpose || '', e.detail || ''])) :
                null,
            reportNotes(report).map((n) => el('p', {class: 'note'}, n)),
            el('button', {type: 'button', id: 'print', onclick: () => window.print()}, T('print')));
      } catch (e) {
        result.replaceChildren(errorBox(e));
      }
    });
    show(el('h1', {}, T('report_title')), el('p', {}, T('report_who')), form, result);
  }

  // ---- Indicators ----
  let charts = [];
  async function indicatorsPage(params) {
    const q = new URLSearchParams(params);
    const now = new Date();
    const month =
        q.get('month') || (now.getFullYear() + '-' + String(now.getMonth() + 1).padStart(2, '0'));
    const monthInput =
        el('input', {id: 'month', name: 'month', type: 'month', value: month, required: true});
    const region =
        el('input', {id: 'region', name: 'region', type: 'text', value: q.get('region') || ''});
    const form =
        el('form', {class: 'filters', 'aria-label': T('indicators')},
           el('div', {},
              el('label',
                 {for: 'month'
                 },
                 T('month_pick')),
              monthInput),
           el('div', {}, el('label', {for: 'region'
              }, T('region')), region), el('div', {}, el('button', {type: 'submit'}, T('show'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const next = new URLSearchParams({month: monthInput.value});
      if (region.value) next.set('region', region.value);
      location.hash = '#indicators?' + next.toString();
    });
    const query = new URLSearchParams({month});
    if (q.get('region')) query.set('region', q.get('region'));
    const data = await api('/api/indicators?' + query.toString());
    charts.forEach((c) => c.destroy());
    charts = [];
    const sections = [];
    const draw = [];
    for (const ind of data.indicators || []) {
      const cells = ind.cells || [];
      const valueText = (c) => (c.suppressed || c.value === undefined ? '<5' : String(c.value));
      const canvas = el('canvas', {role: 'img', 'aria-label': ind.name});
      sections.push(
          el('section', {class: 'indicator', 'data-name': ind.name},
             el('h2', {},
                T('ind_' + ind.name) !== 'ind_' + ind.name ? T('ind_' + ind.name) :
                                                             ind.name.replace(/_/g, ' ')),
             el('div', {class: 'chart'}, canvas),
             table('', [T('label'), T('value')], cells.map((c) => [c.label, valueText(c)]))));
      draw.push(() => charts.push(new Chart(canvas, {
        type: 'bar',
        data: {
          labels: cells.map((c) => (c.suppressed ? c.label + ' (<5)' : c.label)),
          datasets: [{
            label: ind.name,
            data: cells.map((c) => (c.suppressed ? null : c.value)),
            backgroundColor: '#0b4f8a'
          }],
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            legend: {display: false},
            tooltip: {callbacks: {label: (ctx) => valueText(cells[ctx.dataIndex])}}
          },
          scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
        },
      })));
    }
    const csv =
        el('a', {
          id: 'csv',
          href: '/api/indicators.csv?' + query.toString(),
          download: 'silta-indicators-' + month + '.csv'
        },
           T('download_csv'));
    show(
        el('h1', {}, T('indicators')), form, el('p', {}, T('suppressed_note'), ' ', csv),
        sections.length ? sections : el('p', {}, T('no_indicators')));
    draw.forEach((d) => d());
  }

  // ---- Export and verify ----
  async function exportPage() {
    const from = el('input', {id: 'export-from', name: 'from', type: 'date'});
    const until = el('input', {id: 'export-until', name: 'until', type: 'date'});
    const progress =
        el('progress', {id: 'export-progress', max: '1', value: '0', 'aria-label': T('progress')});
    const state = el('div', {id: 'job', role: 'status', 'aria-live': 'polite'});
    const fileList = el('ul', {id: 'export-files'});
    const form =
        el('form', {class: 'filters', 'aria-label': T('export_title')},
           el('div', {},
              el('label',
                 {for: 'export-from'
                 },
                 T('from')),
              from),
           el('div', {},
              el('label',
                 {for: 'export-until'
                 },
                 T('until')),
              until),
           el('div', {}, el('button', {type: 'submit', id: 'export'}, T('export_verify'))));
    const refreshFiles = async () => {
      const files = await api('/api/exports');
      fileList.replaceChildren(...(files.files || [])
                                   .map(
                                       (f) =>
                                           el('li', {}, el('span', {class: 'mono'}, f), ' ',
                                              el('button', {
                                                type: 'button',
                                                'data-file': f,
                                                onclick: () => start('/api/verify', {file: f})
                                              },
                                                 T('verify') + ' ' + f))));
      return files;
    };
    const showJob = (job) => {
      const states =
          {1: 'EXPORTING', 2: 'VERIFYING', 3: 'VERIFIED', 4: 'NOT_VERIFIED', 5: 'FAILED'};
      const name = states[job.state] || '';
      progress.max = String(Number(job.total || 0) || 1);
      progress.value = String(Number(job.done || 0));
      const parts =
          [el('p', {},
              T('job_' + name) + ': ' + (job.file || '') +
                  (job.total ? ' — ' + (job.done || 0) + ' / ' + job.total : ''))];
      if (name === 'VERIFIED') {
        parts.push(statusMark(
            true,
            T('export_verified') + ' ' + (job.entries || 0) + ' ' + T('entries_word') + ' (' +
                T('tree_size') + ' ' + (job.tree_size || 0) + ')'));
      } else if (name === 'NOT_VERIFIED') {
        parts.push(statusMark(false, T('not_verified')));
        parts.push(el('ol', {id: 'problems'}, (job.problems || []).map((p) => el('li', {}, p))));
      } else if (name === 'FAILED') {
        parts.push(el('p', {class: 'error'}, job.error || ''));
      }
      parts.push(el('p', {}, T('folder') + ': ', el('span', {class: 'mono'}, job.folder || '')));
      fill(state, parts);
      state.dataset.state = name;
      return name === 'EXPORTING' || name === 'VERIFYING';
    };
    const poll = async () => {
      const job = await api('/api/jobs/current');
      if (showJob(job))
        setTimeout(() => poll().catch((e) => state.replaceChildren(errorBox(e))), 300);
      else
        await refreshFiles();
    };
    const start = async (path, body) => {
      try {
        showJob(await post(path, body));
        await poll();
      } catch (e) {
        state.replaceChildren(errorBox(e));
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      start('/api/export', {from: from.value, until: until.value});
    });
    show(
        el('h1', {}, T('export_title')), el('p', {}, T('export_help')), form, progress, state,
        el('h2', {}, T('export_files')), fileList);
    const files = await refreshFiles();
    const current = await api('/api/jobs/current');
    if (current.state) {
      if (showJob(current)) await poll();
    }
    return files;
  }

  // ---- Routing ----
  const PAGES = {
    overview: overviewPage,
    entries: entriesPage,
    case: casePage,
    report: reportPage,
    indicators: indicatorsPage,
    export: exportPage
  };
  async function route() {
    const hash = location.hash.replace(/^#/, '') || 'overview';
    const [name, params] = hash.split('?');
    const page = PAGES[name] ? name : 'overview';
    for (const p of Object.keys(PAGES)) {
      const link = document.getElementById('nav-' + p);
      if (p === page)
        link.setAttribute('aria-current', 'page');
      else
        link.removeAttribute('aria-current');
    }
    show(el('p', {}, T('loading')));
    try {
      await PAGES[page](params || '');
    } catch (e) {
      show(errorBox(e));
    }
    document.title = T('title');
    main().setAttribute('data-loaded', page);
  }

  function translateStatic() {
    document.documentElement.lang = SiltaI18n.lang;
    for (const node of document.querySelectorAll('[data-i18n]'))
      node.textContent = T(node.dataset.i18n);
    if (session) {
      document.getElementById('whoami').textContent = T('signed_in_as') + ' ' + session.org_id +
          ' (' + T('roles') + ': ' + (session.roles || []).join(', ') + ')';
      document.getElementById('footer').textContent =
          'siltad ' + (session.server_version || '') + ' · ' + (session.server_address || '');
    }
  }

  async function start() {
    const select = document.getElementById('lang');
    select.value = SiltaI18n.lang;
    select.addEventListener('change', () => {
      SiltaI18n.setLang(select.value);
      translateStatic();
      route();
    });
    try {
      session = await api('/api/session');
      logKey = V.b64(session.log_public_key);
    } catch (e) {
      show(errorBox(e));
      return;
    }
    translateStatic();
    window.addEventListener('hashchange', route);
    await route();
  }
  document.addEventListener('DOMContentLoaded', start);
})();
