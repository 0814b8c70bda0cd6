"""ClickHouse engine (chdb) insert cost without HTTP: rows per insert x format, settings look-up/SET/restore, a
   replayed block with the same deduplication token, and an insert without token. Run with the Python that has chdb
   (the dev ClickHouse endpoint's environment): python bench/chdb-insert.py sql/0001_sip_messages.sql
   Results: bench/README.md, analyzer section."""
import sys, time, json, tempfile, random, shutil
from chdb import session as S
d = tempfile.mkdtemp()
s = S.Session(d)
s.query("SET implicit_select = 0", "TSV")
s.query("CREATE DATABASE b", "TSV"); s.query("USE b", "TSV")
for f in sys.argv[1:]:
    for stmt in open(f).read().split(';\n'):
        if stmt.strip() and not all(l.strip().startswith('--') or not l.strip() for l in stmt.splitlines()):
            s.query(stmt, "TSV")
def row(i):
    return {"ts":"2026-11-26 08:00:00.%06d"%(i%1000000),"received_at":"2026-11-26 08:00:00.000001","tenant":"acme","domain":"a.example","kind":"request","method":"INVITE","status":0,"reason":"","call_id":"c-%d-%d"%(i,random.randint(0,1<<30)),"cseq_num":1,"cseq_method":"INVITE","from_user":"alice","from_domain":"a.example","from_tag":"t%d"%i,"to_user":"bob","to_domain":"b.example","to_tag":"","ruri_user":"bob","ruri_domain":"b.example","src_ip":"10.0.0.1","src_port":5060,"dst_ip":"10.0.0.2","dst_port":5060,"transport":"udp","via_branch":"z9hG4bK%d"%i,"user_agent":"sipp","auth_user":"","capture_id":1,"node":"n1","correlation_id":"","warnings":[],"raw":"INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK%d\r\n"%i*4,"kafka_partition":0,"kafka_offset":i}
cols = list(row(0).keys())
def tsv_esc(v):
    if isinstance(v, list): return "[" + ",".join("'"+x+"'" for x in v) + "]"
    return str(v).replace("\\","\\\\").replace("\t","\\t").replace("\n","\\n").replace("\r","\\r")
tok = 0
def timed(sql, fmt="TSV"):
    t=time.perf_counter(); s.query(sql, fmt); return (time.perf_counter()-t)*1000
for n in (1000, 5000, 20000, 50000):
    rows = [row(i) for i in range(n)]
    each = "\n".join(json.dumps(r) for r in rows).encode()
    compact = "\n".join(json.dumps(list(r.values())) for r in rows).encode()
    tsv = "\n".join("\t".join(tsv_esc(v) for v in r.values()) for r in rows).encode()
    for name, fmt, body in (("JSONEachRow","JSONEachRow",each),("JSONCompactEachRow","JSONCompactEachRow",compact),("TabSeparated","TabSeparated",tsv)):
        res=[]
        for rep in range(3):
            tok += 1
            t_sel = timed("SELECT name, value FROM system.settings WHERE changed AND name IN ['insert_deduplication_token','date_time_input_format']", "JSONCompactEachRow")
            t_set = timed(f"SET insert_deduplication_token = 'tok{tok}', deduplicate_blocks_in_dependent_materialized_views = '1', date_time_input_format='best_effort'")
            t_ins = timed(b"INSERT INTO sip_messages FORMAT " + fmt.encode() + b"\n" + body)
            t_rst = timed("SET insert_deduplication_token = DEFAULT, deduplicate_blocks_in_dependent_materialized_views = DEFAULT, date_time_input_format = DEFAULT")
            res.append((t_sel,t_set,t_ins,t_rst))
        # dedup replay (same token)
        s.query(f"SET insert_deduplication_token = 'tok{tok}', deduplicate_blocks_in_dependent_materialized_views = '1', date_time_input_format='best_effort'","TSV")
        t_dup = timed(b"INSERT INTO sip_messages FORMAT " + fmt.encode() + b"\n" + body)
        s.query("SET insert_deduplication_token = DEFAULT","TSV")
        # no token, no settings
        t_plain = timed(b"INSERT INTO sip_messages FORMAT " + fmt.encode() + b"\n" + body)
        best = min(res, key=lambda x: x[2])
        print(f"{n:6d} rows {name:19s} {len(body)/n:5.0f} B/row  insert {best[2]:7.1f} ms ({n/best[2]*1000:8.0f} rows/s)  settings select {best[0]:.2f} set {best[1]:.2f} reset {best[3]:.2f} ms  dup-replay {t_dup:6.1f}  no-token {t_plain:6.1f}", flush=True)
s.close()
shutil.rmtree(d)
