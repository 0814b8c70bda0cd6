-- Skip indexes for the API's searches that 0001/0003 do not cover: a callee is matched on the To user as well as
-- the Request-URI user, calls are searched by destination address, and a call's messages are also found by the
-- HEP correlation id their legs carry. Indexes apply to parts written from now on; older parts are read in full
-- for these filters until merged (ALTER TABLE ... MATERIALIZE INDEX rewrites them at once, at the cost of a mutation).
ALTER TABLE calls ADD INDEX IF NOT EXISTS idx_to_user to_user TYPE bloom_filter(0.01) GRANULARITY 4;
ALTER TABLE calls ADD INDEX IF NOT EXISTS idx_dst_ip dst_ip TYPE bloom_filter(0.01) GRANULARITY 4;
ALTER TABLE sip_messages ADD INDEX IF NOT EXISTS idx_correlation_id correlation_id TYPE bloom_filter(0.01) GRANULARITY 4;
