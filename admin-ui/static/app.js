// Cairn dashboard: progressive enhancements over server-rendered pages.
// Every page works without this module; it adds the theme switch, the
// email-link fragment routes, confirmation dialogs, the unsaved-changes
// guard, live record updates and small keyboard conveniences. No inline
// scripts anywhere (the CSP forbids them).

const THEME_KEY = 'cairn-theme';

// PocketBase's mail templates and OAuth2 redirect link to /_/#/auth/...;
// the installer link is /_/#/pbinstall/TOKEN. Map them to server routes.
function routeFragment() {
  const h = location.hash;
  if (h.startsWith('#/auth/')) {
    location.replace('/_/auth/' + h.slice('#/auth/'.length));
    return true;
  }
  if (h.startsWith('#/pbinstall/')) {
    location.replace('/_/install?token=' + encodeURIComponent(h.slice('#/pbinstall/'.length)));
    return true;
  }
  return false;
}

function applyTheme(v) {
  if (v === 'light' || v === 'dark') document.documentElement.dataset.theme = v;
  else delete document.documentElement.dataset.theme;
}

function setupTheme() {
  const saved = localStorage.getItem(THEME_KEY) || 'auto';
  applyTheme(saved);
  for (const sel of document.querySelectorAll('[data-theme-select]')) {
    sel.value = saved;
    sel.addEventListener('change', () => {
      localStorage.setItem(THEME_KEY, sel.value);
      applyTheme(sel.value);
    });
  }
}

// ---- dialogs ----

const dialog = () => document.getElementById('confirm-dialog');

/** Shows the confirmation dialog; resolves true on Confirm. Focus returns to the opener. */
function confirmBox(text, okLabel = 'Confirm') {
  const d = dialog();
  if (!d) return Promise.resolve(window.confirm(text));
  const opener = document.activeElement;
  d.querySelector('#confirm-text').textContent = text;
  d.querySelector('#confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  d.querySelector('#confirm-ok').focus();
  return new Promise((resolve) => {
    d.addEventListener(
      'close',
      () => {
        if (opener && opener.focus) opener.focus();
        resolve(d.returnValue === 'ok');
      },
      { once: true },
    );
  });
}

/** Keeps Tab and Shift+Tab inside an open modal dialog. */
function setupFocusTrap() {
  document.addEventListener('keydown', (e) => {
    const d = document.querySelector('dialog[open]');
    if (!d || e.key !== 'Tab') return;
    const items = [...d.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')].filter((el) => !el.disabled);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !d.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !d.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  });
}

function setupConfirms() {
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', async (e) => {
      if (form.dataset.confirmed === '1') return;
      const submitter = e.submitter;
      // Only when the named box is ticked (the SQL console's "Allow writes"),
      // and never for a button that opts out (its read-only CSV download).
      const when = form.dataset.confirmWhen && document.getElementById(form.dataset.confirmWhen);
      if ((when && !when.checked) || (submitter && 'noConfirm' in submitter.dataset)) return;
      e.preventDefault();
      if (await confirmBox(form.dataset.confirm)) {
        form.dataset.confirmed = '1';
        guard.dirty = false;
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      }
    });
  }
}

// ---- unsaved-changes guard ----

const guard = { dirty: false };

function setupGuard() {
  const forms = document.querySelectorAll('form[data-guard]');
  if (!forms.length) return;
  for (const f of forms) {
    f.addEventListener('input', () => (guard.dirty = true));
    f.addEventListener('change', () => (guard.dirty = true));
    f.addEventListener('submit', () => (guard.dirty = false));
  }
  window.addEventListener('beforeunload', (e) => {
    if (guard.dirty) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
  document.addEventListener('click', async (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || !guard.dirty || a.target || a.hasAttribute('download') || a.getAttribute('href').startsWith('#')) return;
    e.preventDefault();
    if (await confirmBox('Discard your unsaved changes?', 'Discard')) {
      guard.dirty = false;
      document.dispatchEvent(new CustomEvent('cairn:discard'));
      location.href = a.href;
    }
  });
  document.addEventListener('keydown', async (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      const f = forms[0];
      const save = f.querySelector('button.primary[type="submit"]') || undefined;
      f.requestSubmit(save);
    }
  });
  // Esc is handled on keyup: opening a modal on keydown would let the same
  // key press close it again (the browser's close request comes after).
  let escDown = false;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') escDown = !dialog()?.open && !e.defaultPrevented;
  });
  document.addEventListener('keyup', async (e) => {
    if (e.key === 'Escape' && escDown && !dialog()?.open) {
      escDown = false;
      const cancel = document.querySelector('[data-cancel]');
      if (!cancel) return;
      if (!guard.dirty || (await confirmBox('Discard your unsaved changes?', 'Discard'))) {
        guard.dirty = false;
        document.dispatchEvent(new CustomEvent('cairn:discard'));
        location.href = cancel.href;
      }
    }
  });
}

// ---- records table ----

// Back on the list after a save (?saved=ID): focus the saved record's link,
// so a keyboard user goes on from the record they just saved.
function focusSaved() {
  const id = new URLSearchParams(location.search).get('saved');
  const row = id && [...document.querySelectorAll('tr[data-id]')].find((tr) => tr.dataset.id === id);
  const link = row && row.querySelector('a[href]');
  if (link) link.focus();
}

function setupSelection(root = document) {
  const boxes = [...root.querySelectorAll('[data-row-check]')];
  const all = root.querySelector('[data-select-all]');
  const btn = root.querySelector('[data-bulk-count]');
  const update = () => {
    const n = boxes.filter((b) => b.checked).length;
    if (btn) {
      btn.textContent = n ? `Delete ${n} selected` : 'Delete selected';
      btn.disabled = n === 0;
    }
    if (all) all.checked = n > 0 && n === boxes.length;
  };
  let last = null;
  for (const b of boxes) {
    b.addEventListener('click', (e) => {
      if (e.shiftKey && last !== null) {
        const [a, z] = [boxes.indexOf(last), boxes.indexOf(b)].sort((x, y) => x - y);
        for (let i = a; i <= z; i++) boxes[i].checked = b.checked;
      }
      last = b;
      update();
    });
  }
  if (all) all.addEventListener('change', () => { boxes.forEach((b) => (b.checked = all.checked)); update(); });
  update();
}

/** Fills the list's total from its count URL: the rows never wait for it. */
async function loadCount(root = document) {
  const el = root.querySelector('[data-count]');
  if (!el) return;
  try {
    const r = await fetch(el.dataset.count, { headers: { 'x-requested-with': 'fetch' }, credentials: 'same-origin' });
    const to = r.headers.get('hx-redirect');
    if (r.status === 401 && to) {
      location.href = to;
      return;
    }
    const body = await r.json();
    if (!r.ok) throw new Error(body.message || r.statusText);
    const page = Number(el.dataset.page);
    el.textContent = `${body.totalItems} record(s)` + (body.totalPages > 1 ? `, page ${page} of ${body.totalPages}` : '');
  } catch (e) {
    el.textContent = `The total could not be counted: ${e.message}`;
  }
}

async function refreshRecords(section) {
  const r = await fetch(location.href, { headers: { 'x-requested-with': 'fetch' }, credentials: 'same-origin' });
  const to = r.headers.get('hx-redirect');
  if (r.status === 401 && to) {
    location.href = to;
    return;
  }
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  const fresh = doc.getElementById(section.id);
  if (!fresh) return;
  const checked = new Set([...section.querySelectorAll('[data-row-check]:checked')].map((b) => b.value));
  section.replaceChildren(...[...fresh.childNodes].map((n) => document.importNode(n, true)));
  for (const b of section.querySelectorAll('[data-row-check]')) b.checked = checked.has(b.value);
  setupSelection(section);
  setupConfirms();
  loadCount(section);
}

function setupLive() {
  const section = document.querySelector('[data-live]');
  if (!section || typeof EventSource === 'undefined') return;
  const es = new EventSource(section.dataset.live);
  let timer = null;
  es.addEventListener('change', () => {
    clearTimeout(timer);
    timer = setTimeout(() => refreshRecords(section), 150);
  });
  window.addEventListener('pagehide', () => es.close());
}

// ---- rule autocomplete (ARIA combobox) ----

function setupRuleSuggest() {
  const section = document.querySelector('[data-suggest]');
  if (!section) return;
  let names = [];
  try {
    names = JSON.parse(section.dataset.suggest);
  } catch {
    return;
  }
  for (const input of section.querySelectorAll('input[data-rule]')) {
    const list = document.getElementById(input.getAttribute('aria-controls'));
    let active = -1;
    const token = () => {
      const upto = input.value.slice(0, input.selectionStart ?? input.value.length);
      const m = /[\w@.:]*$/.exec(upto);
      return { text: m[0], start: upto.length - m[0].length, end: upto.length };
    };
    const close = () => {
      list.hidden = true;
      list.replaceChildren();
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    };
    const mark = (i) => {
      const items = [...list.children];
      items.forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
      active = i;
      if (items[i]) {
        input.setAttribute('aria-activedescendant', items[i].id);
        items[i].scrollIntoView({ block: 'nearest' });
      }
    };
    const pick = (value) => {
      const t = token();
      input.value = input.value.slice(0, t.start) + value + input.value.slice(t.end);
      const caret = t.start + value.length;
      input.setSelectionRange(caret, caret);
      close();
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const expr = input.closest('fieldset')?.querySelector('input[value="expr"]');
      if (expr) expr.checked = true;
    };
    const open = () => {
      const t = token().text;
      if (!t) return close();
      const hits = names.filter((n) => n.startsWith(t) && n !== t).slice(0, 8);
      if (!hits.length) return close();
      list.replaceChildren(
        ...hits.map((n, i) => {
          const li = document.createElement('li');
          li.id = `${list.id}-${i}`;
          li.setAttribute('role', 'option');
          li.setAttribute('aria-selected', 'false');
          li.textContent = n;
          li.addEventListener('mousedown', (e) => {
            e.preventDefault();
            pick(n);
          });
          return li;
        }),
      );
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      active = -1;
    };
    input.addEventListener('input', (e) => {
      if (e.isTrusted !== false) open();
    });
    input.addEventListener('blur', close);
    input.addEventListener('keydown', (e) => {
      if (list.hidden) return;
      const n = list.children.length;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        mark((active + 1) % n);
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        mark((active - 1 + n) % n);
      } else if (e.key === 'Enter' && active >= 0) {
        e.preventDefault();
        pick(list.children[active].textContent);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    });
  }
}

// ---- shell ----

function setupShell() {
  for (const input of document.querySelectorAll('[data-filter-list]')) {
    const list = document.querySelector(input.dataset.filterList);
    input.addEventListener('input', () => {
      const q = input.value.trim().toLowerCase();
      for (const li of list.children) li.hidden = q !== '' && !li.dataset.name.includes(q);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const first = [...list.children].find((li) => !li.hidden);
      const a = first && first.querySelector('a');
      if (a) a.click();
    });
  }
  const drawer = document.querySelector('[data-drawer]');
  if (drawer) {
    const set = (open) => {
      document.body.classList.toggle('drawer-open', open);
      drawer.setAttribute('aria-expanded', String(open));
    };
    drawer.addEventListener('click', () => set(!document.body.classList.contains('drawer-open')));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && document.body.classList.contains('drawer-open')) {
        set(false);
        drawer.focus();
      }
    });
  }
  for (const sel of document.querySelectorAll('select[data-refresh]')) {
    sel.addEventListener('change', () => {
      const btn = sel.form && sel.form.querySelector('[data-refresh-button]');
      if (btn) sel.form.requestSubmit(btn);
    });
  }
  const toast = document.getElementById('toast');
  const msg = document.querySelector('[data-toast]');
  if (toast && msg) {
    toast.textContent = msg.textContent;
    toast.classList.add('show');
    setTimeout(() => toast.classList.remove('show'), 4000);
  }
}

if (!routeFragment()) {
  setupTheme();
  setupShell();
  setupConfirms();
  setupFocusTrap();
  setupGuard();
  setupSelection();
  focusSaved();
  setupLive();
  loadCount();
  setupRuleSuggest();
}
