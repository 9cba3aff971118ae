// The dashboard's SSE parser (web/stream.js) on frames split at every byte, CRLF and
// CR line ends, comments (heartbeats), multi-line data and ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser } from '../../web/stream.js';

const STREAM = 'event: hello\ndata: {"gateway":"g1"}\n\n'
  + ': heartbeat\n\n'
  + 'id: 1732539000123-17\r\nevent: incident\r\ndata: {"id":42,\r\ndata: "version":3}\r\n\r\n'
  + 'event: resync\rdata: {"reason":"gap"}\r\r'
  + 'data:no-space\n\n';

const EXPECTED = [
  { event: 'hello', id: null, data: '{"gateway":"g1"}' },
  { comment: ' heartbeat' },
  { event: 'incident', id: '1732539000123-17', data: '{"id":42,\n"version":3}' },
  { event: 'resync', id: null, data: '{"reason":"gap"}' }, // ids belong to their frame
  { event: 'message', id: null, data: 'no-space' },
];

function parse(chunks) {
  const frames = [];
  const p = new SSEParser((f) => frames.push(f));
  for (const c of chunks) p.feed(c);
  return frames;
}

test('whole stream in one chunk', () => {
  assert.deepEqual(parse([STREAM]), EXPECTED);
});

test('the same frames when split at every position', () => {
  for (let i = 1; i < STREAM.length; i++) {
    assert.deepEqual(parse([STREAM.slice(0, i), STREAM.slice(i)]), EXPECTED, `split at ${i}`);
  }
});

test('one character at a time', () => {
  assert.deepEqual(parse([...STREAM]), EXPECTED);
});

test('an unterminated frame is not delivered', () => {
  assert.deepEqual(parse(['event: incident\ndata: {"id":1}\n']), []);
});

test('a line over the cap is refused', () => {
  const p = new SSEParser(() => {});
  assert.throws(() => p.feed('data: ' + 'x'.repeat(2 << 20)), /too long/);
});
