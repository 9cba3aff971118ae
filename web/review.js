// review: the dashboard's "needs review" mark. A triage that no responder has overridden
// and whose confidence is below the store's threshold (GET /settings review_threshold,
// TRIAGE_REVIEW_THRESHOLD_PCT) is flagged in the list and the detail.
import { api } from './api.js';

const state = { threshold: 0.5, loaded: false };

// Reads the threshold once per sign-in; until it arrives the default (0.5) is used.
export async function loadReviewThreshold() {
  try {
    const s = await api.settings();
    if (typeof s.review_threshold === 'number') state.threshold = s.review_threshold;
    state.loaded = true;
  } catch (e) {
    // the list still works; the default threshold stays
  }
}

export function reviewThreshold() {
  return state.threshold;
}

export function needsReview(inc) {
  const t = inc && inc.triage;
  if (!t || typeof t.confidence !== 'number') return false;
  if (inc.override && (inc.override.severity || inc.override.category)) return false;
  return t.confidence < state.threshold;
}
