// The signed-in key's role (viewer < reporter < responder < admin, as GET /whoami says):
// the dashboard builds only the controls the role may use; the gateway enforces it.

const ORDER = ['viewer', 'reporter', 'responder', 'admin'];
let current = 'viewer'; // until the gateway said otherwise: the least

export function setRole(role) {
  current = ORDER.includes(role) ? role : 'viewer';
  document.body.dataset.role = current;
}

export function role() { return current; }

/** True when the signed-in role includes `need`. */
export function can(need) { return ORDER.indexOf(current) >= ORDER.indexOf(need); }
