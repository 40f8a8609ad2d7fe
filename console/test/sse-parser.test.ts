import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/live/sse-parser';

describe('SseParser', () => {
  it('dispatches a frame at the blank line, with its event name and data', () => {
    const p = new SseParser();
    const r = p.push('event: tasks\ndata: {"tasks":[]}\n\n');
    expect(r.events).toEqual([{ event: 'tasks', data: '{"tasks":[]}', id: null }]);
  });

  it('holds a frame split across chunks until it is complete', () => {
    const p = new SseParser();
    expect(p.push('event: hel').events).toEqual([]);
    expect(p.push('lo\ndata: {"server_time":').events).toEqual([]);
    expect(p.push('1}\n').events).toEqual([]);
    expect(p.push('\n').events).toEqual([{ event: 'hello', data: '{"server_time":1}', id: null }]);
  });

  it('joins several data lines with newlines and defaults the type to message', () => {
    const p = new SseParser();
    expect(p.push('data: a\ndata: b\n\n').events).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
  });

  it('reports comment lines (keep-alives) without dispatching anything', () => {
    const p = new SseParser();
    const r = p.push(': ping\n\n');
    expect(r.events).toEqual([]);
    expect(r.comments).toEqual(['ping']);
  });

  it('accepts CRLF and lone CR line endings, including a CRLF split between chunks', () => {
    const p = new SseParser();
    const a = p.push('event: a\r\ndata: 1\r');
    const b = p.push('\n\r\nevent: b\rdata: 2\r\r');
    expect([...a.events, ...b.events]).toEqual([
      { event: 'a', data: '1', id: null },
      { event: 'b', data: '2', id: null },
    ]);
  });

  it('drops a frame without data, and resets the event type after each frame', () => {
    const p = new SseParser();
    const r = p.push('event: tasks\n\ndata: x\n\n');
    expect(r.events).toEqual([{ event: 'message', data: 'x', id: null }]);
  });

  it('strips only one leading space from values and keeps the rest', () => {
    const p = new SseParser();
    expect(p.push('data:  two spaces\ndata:none\n\n').events[0]?.data).toBe(' two spaces\nnone');
  });

  it('ignores a leading byte-order mark, keeps ids, and reads retry', () => {
    const p = new SseParser();
    const r = p.push('\uFEFFid: 7\nretry: 3000\ndata: x\n\n');
    expect(r.events).toEqual([{ event: 'message', data: 'x', id: '7' }]);
    expect(r.retry).toBe(3000);
  });

  it('parses several frames from one chunk in order', () => {
    const p = new SseParser();
    const r = p.push('event: hello\ndata: 1\n\n: ping\n\nevent: resync\ndata: {"reason":"overflow"}\n\n');
    expect(r.events.map((e) => e.event)).toEqual(['hello', 'resync']);
    expect(r.comments).toEqual(['ping']);
  });
});
