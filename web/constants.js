// The vocabularies the API uses (docs/API.md, DESIGN.md "Triage output").

export const STATUSES = ['submitted', 'processing', 'triaged', 'failed'];
export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const CATEGORIES = ['compute', 'storage', 'database', 'network', 'application',
  'deployment', 'security', 'dependency', 'other'];
export const STATES = ['open', 'acknowledged', 'resolved'];
