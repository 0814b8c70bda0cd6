/**
 * Reads an ESL transcript of `../shared/brief/esl-samples/` (lines starting with `>>> ` are what the client sent,
 * each followed by an empty line; everything else is FreeSWITCH's bytes, exact).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ESL_SAMPLE = fileURLToPath(new URL('../../../shared/brief/esl-samples/prepaid-call.esl', import.meta.url));

export interface Transcript {
  /** What the server sent, byte for byte, in order. */
  readonly server: Buffer;
  /** Client commands in order, without the terminating empty line. */
  readonly client: readonly string[];
}

export function readTranscript(file = ESL_SAMPLE): Transcript {
  const text = readFileSync(file, 'utf8');
  const client: string[] = [];
  const server = text.replace(/^>>> (.*)\n\n/gm, (_m, cmd: string) => {
    client.push(cmd);
    return '';
  });
  return { server: Buffer.from(server, 'utf8'), client };
}

/** The text/event-plain bodies of the transcript, by event name (the emulator replays them). */
export function sampleEventBodies(file = ESL_SAMPLE): Map<string, string> {
  const { server } = readTranscript(file);
  const out = new Map<string, string>();
  const s = server.toString('utf8');
  const re = /Content-Length: (\d+)\nContent-Type: text\/event-plain\n\n/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const start = Buffer.byteLength(s.slice(0, m.index + m[0].length));
    const body = server.subarray(start, start + Number(m[1])).toString('utf8');
    const name = /^Event-Name: (.*)$/m.exec(body)?.[1];
    if (name) out.set(name, body);
  }
  return out;
}
