/**
 * One piece of the embedded local stack (Kafka, ClickHouse, ...). Every part is idempotent: `up` on a running part
 * only checks readiness, `down` on a stopped part does nothing.
 */
export interface StackContext {
  /** Folder that holds pid files, logs and data of the running stack (default `<repo>/.run/stack`). */
  readonly runDir: string;
  /** Folder for downloads kept between runs and between clones (default `~/.cache/tollgate`). */
  readonly cacheDir: string;
  /** Progress lines for a human; parts call it for every slow step. */
  readonly progress: (line: string) => void;
}

export interface PartStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  /** Where clients connect, e.g. `127.0.0.1:9092` or `http://127.0.0.1:8123`. */
  readonly endpoint: string;
  readonly detail?: string;
}

export interface StackPart {
  readonly name: string;
  up(ctx: StackContext): Promise<PartStatus>;
  down(ctx: StackContext): Promise<void>;
  status(ctx: StackContext): Promise<PartStatus>;
}
