/**
 * The two edges behind one port. Each can set a ban with a lifetime, remove one, and tell whether it still holds
 * the sentinel the guard left there — a proxy that lost it was restarted (or flushed) and needs the whole set again.
 */
import { jsonRpc, redact, RpcFault } from './rpc.ts';

export interface EdgeProxy {
  readonly kind: 'kamailio' | 'opensips';
  readonly label: string;
  set(ip: string, ttlSeconds: number, value: string): Promise<void>;
  /** Absent is fine: the goal is "not banned". */
  remove(ip: string): Promise<void>;
  hasSentinel(): Promise<boolean>;
  setSentinel(token: string): Promise<void>;
}

const SENTINEL_TTL_S = 86_400 * 30;

/** Kamailio htable over jsonrpcs: `htable.setxs` (value + expiry in one call), `htable.delete`, `htable.get`. */
export class KamailioHtable implements EdgeProxy {
  readonly kind = 'kamailio';
  readonly label: string;
  constructor(private readonly url: string, private readonly table: string, private readonly timeoutMs: number) {
    this.label = redact(url);
  }

  async set(ip: string, ttlSeconds: number, value: string): Promise<void> {
    await jsonRpc(this.url, 'htable.setxs', [this.table, ip, value, Math.max(1, Math.ceil(ttlSeconds))], this.timeoutMs);
  }

  async remove(ip: string): Promise<void> {
    try {
      await jsonRpc(this.url, 'htable.delete', [this.table, ip], this.timeoutMs);
    } catch (err) {
      if (err instanceof RpcFault && err.code === 404) return;
      throw err;
    }
  }

  async hasSentinel(): Promise<boolean> {
    try {
      await jsonRpc(this.url, 'htable.get', [this.table, SENTINEL_KEY], this.timeoutMs);
      return true;
    } catch (err) {
      // 5.6 answers a missing key with 500 "Key name doesn't exist in htable." (delete uses 404); a missing
      // table ("No such htable") stays an error: the script does not match the configuration.
      if (err instanceof RpcFault && (err.code === 404 || /doesn't exist in htable|not found in htable/i.test(err.message))) return false;
      throw err;
    }
  }

  async setSentinel(token: string): Promise<void> {
    await jsonRpc(this.url, 'htable.setxs', [this.table, SENTINEL_KEY, token, SENTINEL_TTL_S], this.timeoutMs);
  }
}

/**
 * OpenSIPS core cache over mi_http (`cachedb_local`), the DB-less ban list APIBAN's OpenSIPS guide uses; the script
 * checks `cache_fetch("local", "ban_$si", $var(b))` (deploy/opensips/opensips.cfg).
 */
export class OpensipsCache implements EdgeProxy {
  readonly kind = 'opensips';
  readonly label: string;
  constructor(private readonly url: string, private readonly system: string, private readonly keyPrefix: string, private readonly timeoutMs: number) {
    this.label = redact(url);
  }

  async set(ip: string, ttlSeconds: number, value: string): Promise<void> {
    await jsonRpc(this.url, 'cache_store', { system: this.system, attr: `${this.keyPrefix}${ip}`, value, expire: Math.max(1, Math.ceil(ttlSeconds)) }, this.timeoutMs);
  }

  async remove(ip: string): Promise<void> {
    await jsonRpc(this.url, 'cache_remove', { system: this.system, attr: `${this.keyPrefix}${ip}` }, this.timeoutMs);
  }

  async hasSentinel(): Promise<boolean> {
    try {
      const r = await jsonRpc(this.url, 'cache_fetch', { system: this.system, attr: SENTINEL_KEY }, this.timeoutMs);
      return r !== null && r !== undefined;
    } catch (err) {
      // 3.6 answers a missing key with 400 "Value not found"; anything else (an unknown cache system) is an error.
      if (err instanceof RpcFault && (err.code === 400 || /not found/i.test(err.message))) return false;
      throw err;
    }
  }

  async setSentinel(token: string): Promise<void> {
    await jsonRpc(this.url, 'cache_store', { system: this.system, attr: SENTINEL_KEY, value: token, expire: SENTINEL_TTL_S }, this.timeoutMs);
  }
}

/** Never a valid address, so it cannot collide with a ban. */
export const SENTINEL_KEY = 'tollgate:sentinel';
