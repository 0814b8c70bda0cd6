/**
 * Framing of a version-2 event record (`sip.events` / `sip.quarantine`): many events in one Kafka record. Each record
 * costs the producer a fixed amount of work (record object, varints, its share of the request) and a consumer as much
 * again, so the analyzer packs a batch's events per target partition into as few records as the size bound allows
 * (bench/PROFILE.md, "sip.events cost").
 *
 * The value is newline-delimited JSON: a header line `{"v":2,"n":<events>}`, then exactly `n` lines, each the JSON
 * of one version-1 event. `JSON.stringify` escapes every newline inside a string, and 0x0A never occurs inside a
 * multi-byte UTF-8 sequence, so a raw 0x0A only ever separates lines and a reader can hand each line on as a
 * version-1 record. What the lines mean is the writer's and reader's business (services/analyzer/event-records.ts,
 * services/guard/event-records.ts); this module only frames them.
 */

const HEADER_PREFIX = '{"v":2,"n":';
const HEADER_PREFIX_BYTES = Buffer.from(HEADER_PREFIX, 'latin1');
const NEWLINE = 0x0a;
/** Bytes kept free before a container's first line for its header (prefix, up to 9 digits, `}` and newline). */
const HEADER_ROOM = HEADER_PREFIX.length + 9 + 2;
const MAX_EVENTS = 999_999_999;

export interface ContainerRecord {
  /** Partition key: the key of the container's first event, which picks the partition every event of it belongs to. */
  readonly key: string;
  readonly value: Buffer;
  readonly events: number;
}

/** A container of the given lines (each without a newline), in one allocation. */
export function encodeContainer(lines: readonly string[]): Buffer {
  return Buffer.from(`${HEADER_PREFIX}${lines.length}}\n${lines.join('\n')}`);
}

/** Whether a record value claims to be a container (it may still be malformed: `containerLines` checks). */
export function isContainer(value: Buffer): boolean {
  return value.length >= HEADER_PREFIX_BYTES.length && value.compare(HEADER_PREFIX_BYTES, 0, HEADER_PREFIX_BYTES.length, 0, HEADER_PREFIX_BYTES.length) === 0;
}

/**
 * The lines of a container as views of `value` (no copy), or undefined when it is not a well-formed container: a
 * header other than `{"v":2,"n":<1..999999999>}`, fewer lines than `n` (a cut record) or more (two run together).
 * The lines themselves are not checked: each is one event for the reader's own validation.
 */
export function containerLines(value: Buffer): Buffer[] | undefined {
  if (!isContainer(value)) return undefined;
  const end = value.indexOf(NEWLINE);
  if (end < 0) return undefined;
  const digits = value.toString('latin1', HEADER_PREFIX_BYTES.length, end);
  if (!/^[1-9][0-9]{0,8}\}$/.test(digits)) return undefined;
  const n = Number(digits.slice(0, -1));
  const lines: Buffer[] = [];
  let start = end + 1;
  for (let i = 0; i < n - 1; i++) {
    const nl = value.indexOf(NEWLINE, start);
    if (nl < 0) return undefined;
    lines.push(value.subarray(start, nl));
    start = nl + 1;
  }
  if (value.indexOf(NEWLINE, start) >= 0) return undefined;
  lines.push(value.subarray(start));
  return lines;
}

/**
 * Writes lines straight into large slabs and cuts containers out of them as views: no joined string and no copy per
 * container (a `lines.join` + `Buffer.from` of each container cost more than the per-record work it saves; the
 * figures are in bench/PROFILE.md). Lines are added per container in order; `cut()` ends the current container (the
 * writer also cuts by itself before a container would exceed `maxBytes`).
 */
export class ContainerWriter {
  readonly records: ContainerRecord[] = [];
  readonly #maxBytes: number;
  readonly #slabBytes: number;
  #slab: Buffer;
  #o = 0;
  /** Offset of the current container's first line, or -1 when no container is open. */
  #start = -1;
  #n = 0;
  #key = '';

  /**
   * `maxBytes`: bound on one container's value (keep it below the broker's `message.max.bytes`, 1 MiB by default).
   * The first slab is `firstSlabBytes` (small: a quiet partition's batch holds a few events); later ones are larger.
   */
  constructor(maxBytes: number, firstSlabBytes = 64 * 1024) {
    this.#maxBytes = maxBytes;
    this.#slabBytes = Math.max(4 * maxBytes, 1 << 20);
    this.#slab = Buffer.allocUnsafe(firstSlabBytes);
  }

  add(key: string, line: string): void {
    if (!this.#open(key, line.length * 3 + 1, line)) return;
    this.#o += this.#slab.write(line, this.#o, 'utf8');
    this.#slab[this.#o++] = NEWLINE;
    this.#n++;
  }

  /**
   * A line given as its UTF-8 bytes `src[start, end)`, written earlier while its parts were fresh (a string kept for
   * later costs far more to write then: bench/PROFILE.md, "Rows without row objects"). `chars` is the line's length
   * as a string: containers are cut where `add` of the same line would cut them, so the records are the same bytes.
   */
  addBytes(key: string, src: Buffer, start: number, end: number, chars: number): void {
    if (!this.#open(key, chars * 3 + 1, src, start, end)) return;
    this.#o += src.copy(this.#slab, this.#o, start, end);
    this.#slab[this.#o++] = NEWLINE;
    this.#n++;
  }

  /** Makes room for a line of at most `worst` bytes plus its newline; false when the line went out alone. */
  #open(key: string, worst: number, line: string | Buffer, start = 0, end = 0): boolean {
    if (HEADER_ROOM + worst > this.#maxBytes) {
      // Larger than any container may be: alone, as it is (the broker decides; no event is dropped here).
      this.cut();
      this.records.push({ key, value: encodeContainer([typeof line === 'string' ? line : line.toString('utf8', start, end)]), events: 1 });
      return false;
    }
    if (this.#start >= 0 && (this.#o - this.#start + HEADER_ROOM + worst > this.#maxBytes || this.#n === MAX_EVENTS)) this.cut();
    if (this.#start < 0) {
      this.#room(HEADER_ROOM + worst);
      this.#o += HEADER_ROOM;
      this.#start = this.#o;
      this.#n = 0;
      this.#key = key;
    } else {
      this.#room(worst);
    }
    return true;
  }

  /** Ends the open container, if any: its header goes right before its first line, the last newline is left out. */
  cut(): void {
    if (this.#start < 0) return;
    const header = `${HEADER_PREFIX}${this.#n}}\n`;
    const from = this.#start - header.length;
    this.#slab.write(header, from, 'latin1');
    this.records.push({ key: this.#key, value: this.#slab.subarray(from, this.#o - 1), events: this.#n });
    this.#start = -1;
  }

  /** At least `bytes` free after the write position: else a new slab, the open container's bytes moved into it. */
  #room(bytes: number): void {
    if (this.#o + bytes <= this.#slab.length) return;
    const from = this.#start < 0 ? this.#o : this.#start - HEADER_ROOM;
    const keep = this.#o - from;
    const next = Buffer.allocUnsafe(Math.max(this.#slabBytes, keep + bytes));
    this.#slab.copy(next, 0, from, this.#o);
    if (this.#start >= 0) this.#start = HEADER_ROOM;
    this.#o = keep;
    this.#slab = next;
  }
}
