/**
 * An incremental parser for `text/event-stream` bodies (the WHATWG "event stream interpretation"), fed
 * with decoded text chunks as they arrive from `fetch`. EventSource cannot send an Authorization header,
 * which is why the console reads the stream with fetch and parses it itself.
 */

export interface SseEvent {
  /** `message` when the frame had no `event:` line. */
  event: string;
  data: string;
  id: string | null;
}

export interface SseChunkResult {
  events: SseEvent[];
  /** Comment lines (`: ping`), reported so a watchdog can count them as signs of life. */
  comments: string[];
  /** A `retry:` field, in milliseconds, when the server sent one. */
  retry: number | null;
}

export class SseParser {
  private buffer = '';
  private started = false;
  /** The previous chunk ended in CR: a LF starting this chunk belongs to that line ending. */
  private skipLeadingLf = false;
  private eventType = '';
  private data: string[] = [];
  private hasData = false;
  private lastId: string | null = null;

  push(chunk: string): SseChunkResult {
    const result: SseChunkResult = { events: [], comments: [], retry: null };
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLeadingLf = false;
    this.buffer += text;

    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      const line = this.buffer.slice(start, i);
      if (ch === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = i + 1;
      this.line(line, result);
    }
    this.buffer = this.buffer.slice(start);
    return result;
  }

  private line(line: string, out: SseChunkResult): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(':')) {
      out.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) out.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored, as the spec says
    }
  }

  private dispatch(out: SseChunkResult): void {
    if (this.hasData) {
      out.events.push({ event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId });
    }
    this.eventType = '';
    this.data = [];
    this.hasData = false;
  }
}
