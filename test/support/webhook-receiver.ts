/** An HTTP receiver for alert deliveries in tests: records every request, can be told to fail or answer slowly. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Status to answer; 200 by default. */
  status = 200;
  #server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      res.statusCode = this.status;
      res.end(this.status < 300 ? 'ok' : 'nope');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  async waitFor(n: number, ms = 5_000): Promise<Received[]> {
    const t0 = Date.now();
    while (this.received.length < n) {
      if (Date.now() - t0 > ms) throw new Error(`receiver got ${this.received.length} of ${n} deliveries in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.received;
  }
}
