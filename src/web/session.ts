/**
 * Who is signed in (GET /api/me) and what the role allows. Controls marked data-needs="<route or action>" are
 * disabled (buttons, inputs) or hidden (links) when the role lacks it, with the role named in a tooltip; the
 * API refuses those calls anyway (403), this only keeps the operator from trying.
 */
export interface Me {
  name: string;
  kind: 'principal' | 'key';
  roles: string[];
  authMode: 'keys' | 'entra' | 'local';
  can: Record<string, boolean>;
}

let me: Me | undefined;

export const signedIn = (): Me | undefined => me;
export function setMe(m: Me | undefined): void {
  me = m;
  applyNeeds(document.body);
}
/** Unknown to the table (the dashboard ahead of the app): allowed, and the API decides. */
export const can = (what: string): boolean => me?.can[what] !== false;

function apply(el: HTMLElement): void {
  const what = el.dataset.needs!;
  const allowed = can(what);
  if (el instanceof HTMLButtonElement || el instanceof HTMLInputElement) {
    if (!allowed && !el.disabled) {
      el.disabled = true;
      el.title = `Your role (${me?.roles.join(', ') || 'none'}) does not allow this.`;
      el.dataset.deniedByRole = '';
    }
  } else if (el.hidden !== !allowed) el.hidden = !allowed;
}

export function applyNeeds(root: ParentNode): void {
  if (root instanceof HTMLElement && root.dataset.needs) apply(root);
  for (const el of root.querySelectorAll<HTMLElement>('[data-needs]')) apply(el);
}

/** Pages and dialogs draw at any time: every control added or re-enabled is checked again. */
export function watchNeeds(): void {
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target instanceof HTMLElement && r.target.dataset.needs) apply(r.target);
      for (const n of r.addedNodes) if (n instanceof HTMLElement) applyNeeds(n);
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'] });
}
