/** The modal confirmation (`<dialog id="confirm">`): what an action keeps and what it loses. */
import { byId, h } from './dom.js';

export interface Confirmation {
  title: string;
  kept: string;
  lost: string;
  ok: string;
}

/** Opens the dialog; resolves true on OK, false on Cancel or Escape. Focus goes back to `opener` (found again by selector if it was re-rendered). */
export function confirmAction(c: Confirmation, openerSelector?: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = c.title;
  // A space between the paragraphs keeps "Kept: …. Lost: …" readable as one text too.
  byId('confirm-text').replaceChildren(
    h('p', {}, h('strong', {}, 'Kept:'), ` ${c.kept}`),
    ' ',
    h('p', {}, h('strong', {}, 'Lost:'), ` ${c.lost}`));
  byId('confirm-ok').textContent = c.ok;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      if (openerSelector) document.querySelector<HTMLElement>(openerSelector)?.focus();
    }, { once: true });
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}
