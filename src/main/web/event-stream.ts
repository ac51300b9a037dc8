// GET /api/events: every contract event pushed to the browser as Server-Sent Events,
// with a comment line as heartbeat so proxies and idle timeouts keep the stream open.
// The streams are tracked so that closing the server can end them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_NAMES } from '../../shared/contract';
import { SECURITY_HEADERS } from '../csp';
import type { EventBus } from '../events';

const HEARTBEAT_MS = 20_000;

export class EventStreams {
  private readonly clients = new Set<ServerResponse>();

  constructor(private readonly events: EventBus) {}

  /** Answers the request with a stream of the bus's events until either side closes it. */
  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    this.clients.add(res);
    const unsubscribe = EVENT_NAMES.map((event) =>
      this.events.on(event, (payload) => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
      }),
    );
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe.forEach((off) => off());
      this.clients.delete(res);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
  }

  /** Ends every open stream (the server is closing). */
  endAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
