/** HEP over TLS: the TCP stream listener on a tls.Server; certificate files are read once at start. */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { TollgateError } from '../../shared/errors.ts';
import { CollectorErrors } from '../errors.ts';
import { StreamListener, type StreamListenerOptions } from './tcp.ts';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

function readPem(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TollgateError(CollectorErrors.badTlsConfig, `cannot read ${what} ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

export class TlsListener extends StreamListener {
  constructor(opts: StreamListenerOptions, files: TlsFiles) {
    const cert = readPem('HEP_TLS_CERT', files.certFile);
    const key = readPem('HEP_TLS_KEY', files.keyFile);
    let context: tls.SecureContextOptions;
    try {
      tls.createSecureContext({ cert, key });
      context = { cert, key };
    } catch (err) {
      throw new TollgateError(CollectorErrors.badTlsConfig,
        `HEP_TLS_CERT / HEP_TLS_KEY are not a usable PEM certificate and key: ${(err as Error).message}`, {}, { cause: err });
    }
    super('tls', opts, (onSocket) => tls.createServer(context, onSocket));
  }

  protected override decorate(server: net.Server): void {
    server.on('tlsClientError', () => this.opts.pipeline.stats.connectionClosed('tls', 'tls_handshake'));
  }

}
