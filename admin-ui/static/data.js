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
