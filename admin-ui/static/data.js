// Cairn dashboard, data editing: file fields (reorder, previews of chosen
// files, size check), the relation picker dialog, and reading a chosen file
// into a textarea on the import pages. Server-rendered forms work without
// it; no inline scripts (the CSP forbids them).

function setupFiles() {
  for (const box of document.querySelectorAll('[data-files]')) {
    const list = box.querySelector('.file-list');
    for (const r of box.querySelectorAll('[data-reorder]')) r.hidden = false;
    box.addEventListener('click', (e) => {
      const btn = e.target.closest('[data-move]');
      if (!btn) return;
      const li = btn.closest('[data-file]');
      const dir = Number(btn.dataset.move);
      const other = dir < 0 ? li.previousElementSibling : li.nextElementSibling;
      if (!other || !other.matches('[data-file]')) return;
      if (dir < 0) list.insertBefore(li, other);
      else list.insertBefore(other, li);
      btn.focus();
      box.closest('form')?.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const input = box.querySelector('input[type="file"]');
    const previews = box.querySelector('[data-previews]');
    if (!input || !previews) continue;
    input.addEventListener('change', () => {
      const max = Number(input.dataset.maxSize || 0);
      previews.replaceChildren(
        ...[...input.files].map((f) => {
          const li = document.createElement('li');
          if (f.type.startsWith('image/')) {
            const img = document.createElement('img');
            img.alt = '';
            img.src = URL.createObjectURL(f);
            li.append(img);
          }
          const span = document.createElement('span');
          span.textContent = `${f.name} (${f.size} bytes, new)`;
          li.append(span);
          if (max && f.size > max) {
            const warn = document.createElement('span');
            warn.className = 'error';
            warn.textContent = `larger than ${max} bytes: the server will refuse it`;
            li.append(warn);
          }
          return li;
        }),
      );
    });
  }
}

setupFiles();

// ---- relation picker ----

function setupRelations() {
  for (const box of document.querySelectorAll('[data-relation]')) {
    const dlg = box.querySelector('[data-picker]');
    const opener = box.querySelector('[data-pick-open]');
    const q = box.querySelector('[data-pick-q]');
    const results = box.querySelector('[data-pick-results]');
    const status = box.querySelector('[data-pick-status]');
    const more = box.querySelector('[data-pick-more]');
    const picked = box.querySelector('[data-picked]');
    const none = box.querySelector('[data-none]');
    const name = box.dataset.name;
    const multiple = box.hasAttribute('data-multiple');
    const max = Number(box.dataset.max || 1);
    let page = 1;
    let timer = null;

    const chosen = () => [...picked.querySelectorAll('input:checked')].map((i) => i.value);
    const changed = () => {
      none.hidden = chosen().length > 0;
      box.closest('form')?.dispatchEvent(new Event('change', { bubbles: true }));
    };
    const choose = (id, label, on) => {
      let input = [...picked.querySelectorAll('input')].find((i) => i.value === id);
      if (on && !multiple) {
        for (const li of [...picked.children]) if (li.querySelector('input').value !== id) li.remove();
      }
      if (on && !input) {
        const li = document.createElement('li');
        const l = document.createElement('label');
        input = document.createElement('input');
        input.type = 'checkbox';
        input.name = name;
        input.value = id;
        const span = document.createElement('span');
        span.className = 'label-text';
        span.textContent = label;
        l.append(input, ' ', span);
        li.append(l);
        picked.append(li);
      }
      if (input) input.checked = on;
      changed();
      limit();
    };
    const limit = () => {
      if (!multiple) return;
      const full = chosen().length >= max;
      for (const i of results.querySelectorAll('input')) i.disabled = full && !i.checked;
      if (full) status.textContent = `The maximum of ${max} is chosen.`;
    };
    const load = async (append) => {
      const url = `/_/collections/${encodeURIComponent(box.dataset.target)}/pick?q=${encodeURIComponent(q.value)}&page=${page}`;
      status.textContent = 'Searching…';
      const r = await fetch(url, { headers: { 'x-requested-with': 'fetch' }, credentials: 'same-origin' });
      const to = r.headers.get('hx-redirect');
      if (r.status === 401 && to) {
        location.href = to;
        return;
      }
      const body = await r.json().catch(() => ({ message: 'The search failed.' }));
      if (!r.ok) {
        status.textContent = body.message || 'The search failed.';
        return;
      }
      const now = new Set(chosen());
      const items = body.items.map((it) => {
        const li = document.createElement('li');
        const l = document.createElement('label');
        const input = document.createElement('input');
        input.type = multiple ? 'checkbox' : 'radio';
        input.name = `pick-${name}`;
        input.value = it.id;
        input.checked = now.has(it.id);
        input.addEventListener('change', () => {
          if (multiple) choose(it.id, it.label, input.checked);
          else if (input.checked) choose(it.id, it.label, true);
        });
        const span = document.createElement('span');
        span.textContent = it.label;
        l.append(input, ' ', span);
        li.append(l);
        return li;
      });
      if (append) results.append(...items);
      else results.replaceChildren(...items);
      more.hidden = !body.more;
      status.textContent = results.children.length ? `${results.children.length} shown.` : 'No matching records.';
      limit();
    };
    opener.addEventListener('click', () => {
      dlg.showModal();
      q.focus();
      page = 1;
      load(false);
    });
    q.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        page = 1;
        load(false);
      }, 200);
    });
    q.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') e.preventDefault();
    });
    more.addEventListener('click', () => {
      page += 1;
      load(true);
    });
    picked.addEventListener('change', changed);
    box.querySelector('[data-pick-done]').addEventListener('click', () => dlg.close());
    // Esc closes only the picker (not the editor behind it).
    dlg.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        dlg.close();
      }
    });
    dlg.addEventListener('close', () => opener.focus());
  }
}

setupRelations();

// ---- import pages: a chosen file is read into the textarea ----

function setupLoadInto() {
  for (const input of document.querySelectorAll('input[type="file"][data-load-into]')) {
    input.addEventListener('change', async () => {
      const f = input.files[0];
      const target = document.getElementById(input.dataset.loadInto);
      if (f && target) {
        target.value = await f.text();
        target.dispatchEvent(new Event('input', { bubbles: true }));
      }
    });
  }
}

setupLoadInto();

// ---- drafts of the record editor ----
// What is typed into a record form is kept in localStorage under
// `draft_<collection>_<record>` (PocketBase's key) until the record is
// saved or the changes are discarded, so an edit survives an expired
// session: after signing in again the editor offers it back. Passwords and
// chosen files are never kept; signing out clears every draft.

const PENDING = 'cairn-draft-saving';

/** The form's values: [key, value] pairs (checkboxes by value, others by position). */
function draftFields(form) {
  const seen = {};
  const out = [];
  for (const el of form.elements) {
    if (!el.name || el.name === '_csrf' || ['password', 'file', 'hidden', 'submit', 'button'].includes(el.type)) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      out.push([`${el.name}\u0000=${el.value}`, el.checked]);
      continue;
    }
    const i = (seen[el.name] = (seen[el.name] ?? -1) + 1);
    const key = `${el.name}\u0000#${i}`;
    out.push([key, el.type === 'select-multiple' ? [...el.selectedOptions].map((o) => o.value) : el.value]);
  }
  return out;
}

function applyDraft(form, fields) {
  const want = new Map(fields);
  const seen = {};
  let first = null;
  for (const el of form.elements) {
    if (!el.name || el.name === '_csrf' || ['password', 'file', 'hidden', 'submit', 'button'].includes(el.type)) continue;
    let key;
    if (el.type === 'checkbox' || el.type === 'radio') key = `${el.name}\u0000=${el.value}`;
    else key = `${el.name}\u0000#${(seen[el.name] = (seen[el.name] ?? -1) + 1)}`;
    if (!want.has(key)) continue;
    const v = want.get(key);
    const before = JSON.stringify(el.type === 'select-multiple' ? [...el.selectedOptions].map((o) => o.value) : el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value);
    if (el.type === 'checkbox' || el.type === 'radio') el.checked = !!v;
    else if (el.type === 'select-multiple') for (const o of el.options) o.selected = v.includes(o.value);
    else el.value = v;
    if (JSON.stringify(v) !== before) first ??= el;
  }
  form.dispatchEvent(new Event('change', { bubbles: true }));
  return first;
}

function readDraft(key) {
  try {
    const d = JSON.parse(localStorage.getItem(key) || 'null');
    return d && Array.isArray(d.fields) ? d : null;
  } catch {
    return null;
  }
}

function announce(text) {
  const toast = document.getElementById('toast');
  if (!toast) return;
  toast.textContent = text;
  toast.classList.add('show');
  setTimeout(() => toast.classList.remove('show'), 4000);
}

function offerDraft(form, key, draft) {
  const box = document.createElement('section');
  box.className = 'draft';
  box.setAttribute('aria-labelledby', 'draft-title');
  const h = document.createElement('h2');
  h.id = 'draft-title';
  h.textContent = 'Unsaved draft';
  const p = document.createElement('p');
  p.textContent = `This record has unsaved changes from ${new Date(draft.at).toLocaleString()}, kept in this browser.`;
  const restore = document.createElement('button');
  restore.type = 'button';
  restore.className = 'primary';
  restore.textContent = 'Restore draft';
  const discard = document.createElement('button');
  discard.type = 'button';
  discard.textContent = 'Discard draft';
  const actions = document.createElement('p');
  actions.className = 'actions';
  actions.append(restore, ' ', discard);
  box.append(h, p, actions);
  form.before(box);
  restore.addEventListener('click', () => {
    const first = applyDraft(form, draft.fields);
    box.remove();
    announce('Draft restored: review it and save.');
    (first || form.querySelector('input, select, textarea'))?.focus();
  });
  discard.addEventListener('click', () => {
    localStorage.removeItem(key);
    box.remove();
    announce('Draft discarded.');
    form.querySelector('input:not([type="hidden"]), select, textarea')?.focus();
  });
}

function setupDrafts() {
  // Back on the list after a save: the draft that was being saved is done.
  const pending = sessionStorage.getItem(PENDING);
  if (pending && new URLSearchParams(location.search).has('saved')) {
    localStorage.removeItem(pending);
    sessionStorage.removeItem(PENDING);
  }
  document.querySelector('form[action="/_/logout"]')?.addEventListener('submit', () => {
    for (const k of Object.keys(localStorage)) if (k.startsWith('draft_')) localStorage.removeItem(k);
  });
  const form = document.querySelector('form[data-draft]');
  if (!form) return;
  const key = form.dataset.draft;
  const draft = readDraft(key);
  if (draft && JSON.stringify(draft.fields) !== JSON.stringify(draftFields(form))) offerDraft(form, key, draft);
  let timer = null;
  const keep = () => {
    clearTimeout(timer);
    timer = setTimeout(() => localStorage.setItem(key, JSON.stringify({ at: Date.now(), fields: draftFields(form) })), 250);
  };
  form.addEventListener('input', keep);
  form.addEventListener('change', (e) => e.isTrusted && keep());
  form.addEventListener('submit', () => {
    clearTimeout(timer);
    localStorage.setItem(key, JSON.stringify({ at: Date.now(), fields: draftFields(form) }));
    sessionStorage.setItem(PENDING, key);
  });
  document.addEventListener('cairn:discard', () => {
    clearTimeout(timer);
    localStorage.removeItem(key);
  });
}

setupDrafts();
