// The vocabularies and bounds the API uses: proto/proto_contract.h and proto/proto.h are
// the source; tests/integration/test_contract.py fails when these differ from them.

export const STATUSES = ['submitted', 'processing', 'triaged', 'failed'];
export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const CATEGORIES = ['compute', 'storage', 'database', 'network', 'application',
  'deployment', 'security', 'dependency', 'other'];
export const STATES = ['open', 'acknowledged', 'resolved'];

export const TITLE_MAX_CHARS = 200;
export const DESCRIPTION_MAX_BYTES = 16384;
export const SHORT_MAX = 255; // source, service, dedup key (bytes)
export const LABELS_MAX = 32;
export const LABEL_KEY_MAX = 64; // bytes
export const LABEL_VALUE_MAX = 256; // bytes
export const Q_MAX_CHARS = 200; // the list's search text
export const LIST_LIMIT_MAX = 200; // incidents per page
export const LIST_LIMIT_DEFAULT = 50;
